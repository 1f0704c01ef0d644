// Unit tests of the editor's annotation document (web/src/editor/model.js):
// pure logic, run in Node without a browser.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnnotationDoc, normalizeBBox, dragBBox } from '../web/src/editor/model.js';

const modelBox = { id: 7, class_id: 2, bbox: [10, 10, 50, 60], source: { kind: 'model', model: 'effdet', version: '3' }, score: 0.8, status: 'proposed' };

function doc() {
  const d = new AnnotationDoc(100, 80);
  d.load({ version: 4, no_finding: false, boxes: [modelBox] });
  return d;
}

describe('annotation document', () => {
  it('orders, rounds and clamps boxes to the image', () => {
    assert.deepEqual(normalizeBBox([40.4, 70.6, -5, 10.2], 100, 80), [0, 10, 40, 71]);
    assert.deepEqual(normalizeBBox([90, 70, 130, 95], 100, 80), [90, 70, 100, 80]);
  });

  it('drops zero-size boxes (a plain click) and keeps real ones as manual', () => {
    const d = doc();
    assert.equal(d.addBox([20, 20, 20.3, 40], 1), null);
    assert.equal(d.boxes.length, 1);
    assert.equal(d.isDirty(), false);
    const key = d.addBox([30, 40, 20, 10], 1);
    assert.ok(key);
    assert.deepEqual(d.find(key).bbox, [20, 10, 30, 40]);
    assert.equal(d.find(key).status, 'manual');
    assert.equal(d.isDirty(), true);
  });

  it('undo and redo walk through changes, and undoing everything is clean again', () => {
    const d = doc();
    const key = d.addBox([1, 1, 11, 11], 0);
    d.setClass(key, 3);
    assert.equal(d.find(key).class_id, 3);
    assert.ok(d.undo());
    assert.equal(d.find(key).class_id, 0);
    assert.ok(d.undo());
    assert.equal(d.find(key), null);
    assert.equal(d.isDirty(), false);
    assert.equal(d.undo(), false);
    assert.ok(d.redo());
    assert.ok(d.redo());
    assert.equal(d.find(key).class_id, 3);
    assert.equal(d.redo(), false);
    // A new change clears the redo stack.
    d.undo();
    d.setNoFinding(true);
    assert.equal(d.redo(), false);
  });

  it('a model box is never deleted, only rejected, and keeps its provenance', () => {
    const d = doc();
    const key = d.boxes[0].key;
    d.remove(key);
    assert.equal(d.boxes.length, 1);
    assert.equal(d.boxes[0].status, 'rejected');
    assert.deepEqual(d.boxes[0].source, modelBox.source);
    assert.equal(d.boxes[0].score, 0.8);
  });

  it('moving or relabelling a model box marks it edited; the save body keeps its id', () => {
    const d = doc();
    const key = d.boxes[0].key;
    assert.ok(d.setBBox(key, dragBBox(d.boxes[0].bbox, 'move', 5, 3, 100, 80)));
    assert.deepEqual(d.boxes[0].bbox, [15, 13, 55, 63]);
    assert.equal(d.boxes[0].status, 'edited');
    const nk = d.addBox([60, 5, 70, 15], 4);
    d.remove(nk);
    d.addBox([60, 5, 80, 25], 4);
    assert.deepEqual(d.putBody(), {
      no_finding: false,
      boxes: [
        { id: 7, class_id: 2, bbox: [15, 13, 55, 63], status: 'edited' },
        { class_id: 4, bbox: [60, 5, 80, 25], status: 'manual' },
      ],
    });
  });

  it('moves stay inside the image and keep the size; resizes move one side', () => {
    assert.deepEqual(dragBBox([10, 10, 50, 60], 'move', 200, -50, 100, 80), [60, 0, 100, 50]);
    assert.deepEqual(dragBBox([10, 10, 50, 60], 'se', 5, -20, 100, 80), [10, 10, 55, 40]);
    assert.deepEqual(dragBBox([10, 10, 50, 60], 'w', 45, 0, 100, 80), [55, 10, 50, 60]);
    // An inverted resize is put in order when it is stored.
    const d = doc();
    d.setBBox(d.boxes[0].key, [55, 10, 50, 60]);
    assert.deepEqual(d.boxes[0].bbox, [50, 10, 55, 60]);
  });

  it('hit testing prefers the smallest box and puts rejected ones last', () => {
    const d = doc();
    const small = d.addBox([20, 20, 30, 30], 1);
    assert.equal(d.boxAt([25, 25]).key, small);
    assert.equal(d.boxAt([12, 12]).id, 7);
    assert.equal(d.boxAt([90, 75]), null);
    d.remove(small);
    d.remove(d.boxes[0].key); // the model box: rejected
    const again = d.addBox([0, 0, 100, 80], 1);
    assert.equal(d.boxAt([12, 12]).key, again);
  });
});
