// Unit tests of the suggestion logic of the editor (web/src/editor/review.js
// and AnnotationDoc.adopt): pure logic, run in Node without a browser.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnnotationDoc } from '../web/src/editor/model.js';
import { hiddenByThreshold, visibleProposals } from '../web/src/editor/review.js';

const model = (id, score, status = 'proposed') => ({ id, class_id: 1, bbox: [1, 1, 9, 9], source: { kind: 'model', model: 'm', version: '1' }, score, status });
const manual = { id: 9, class_id: 2, bbox: [20, 20, 30, 30], source: { kind: 'radiologist', user: 'ann' }, score: null, status: 'manual' };

describe('proposal threshold', () => {
  it('hides only proposed model boxes below the threshold', () => {
    assert.equal(hiddenByThreshold(model(1, 0.2), 0.3), true);
    assert.equal(hiddenByThreshold(model(1, 0.3), 0.3), false);
    assert.equal(hiddenByThreshold(model(1, 0.1, 'accepted'), 0.3), false, 'decisions stay visible');
    assert.equal(hiddenByThreshold(model(1, 0.1, 'rejected'), 0.3), false);
    assert.equal(hiddenByThreshold(manual, 0.9), false);
    const d = new AnnotationDoc(100, 100);
    d.load({ version: 1, boxes: [model(1, 0.9), model(2, 0.5), model(3, 0.1), model(4, 0.95, 'accepted'), manual] });
    assert.deepEqual(visibleProposals(d, 0.4).map((b) => b.id), [1, 2]);
    assert.deepEqual(visibleProposals(d, 0).map((b) => b.id), [1, 2, 3]);
  });
});

describe('adopting proposals that arrive during an edit', () => {
  it('adds them to the state, the saved snapshot and the undo history', () => {
    const d = new AnnotationDoc(100, 100);
    d.load({ version: 1, boxes: [manual] });
    d.addBox([40, 40, 60, 60], 3);
    assert.ok(d.isDirty());
    d.adopt(2, [model(5, 0.8)]);
    assert.equal(d.version, 2);
    assert.equal(d.boxes.length, 3);
    // Still dirty only because of the drawn box; undoing it leaves the proposal.
    assert.ok(d.isDirty());
    d.undo();
    assert.equal(d.isDirty(), false);
    assert.deepEqual(d.boxes.map((b) => b.id), [9, 5]);
    const body = d.putBody();
    assert.deepEqual(body.boxes.map((b) => b.id), [9, 5]);
  });
});

describe('proposals drawn under the cap', () => {
  it('draws the best PROPOSAL_CAP pending proposals at or above the threshold', async () => {
    const { cappedProposalKeys, PROPOSAL_CAP } = await import('../web/src/editor/review.js');
    const d = new AnnotationDoc(100, 100);
    const boxes = Array.from({ length: PROPOSAL_CAP + 5 }, (_, i) => model(i + 1, 0.1 + i * 0.05));
    d.load({ version: 1, boxes: [...boxes, model(99, 0.99, 'accepted')] });
    const keys = cappedProposalKeys(d, 0.1);
    assert.equal(keys.size, PROPOSAL_CAP);
    const ids = d.boxes.filter((b) => keys.has(b.key)).map((b) => b.id);
    assert.deepEqual(ids, boxes.slice(5).map((b) => b.id), 'the highest scores');
    assert.equal(cappedProposalKeys(d, 0.6), null, 'no cap when few enough');
  });
});

describe('history credit', () => {
  it('credits the model and the user who asked for a predict entry', async () => {
    const { historyCredit } = await import('../web/src/editor/review.js');
    const after = { boxes: [manual, { ...model(5, 0.7), source: { kind: 'model', model: 'carina-demo', version: '3' } }] };
    assert.equal(historyCredit({ action: 'predict', version: 4, user: 'ann', before: { boxes: [manual] }, after }),
      'v4 · proposals by carina-demo v3, asked by ann');
    assert.equal(historyCredit({ action: 'save', version: 5, user: 'ann', before: after, after }), 'v5 · save by ann');
  });
});
