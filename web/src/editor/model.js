// The annotation document being edited: boxes in ORIGINAL image pixel
// coordinates ([x_min, y_min, x_max, y_max], pixel i spans [i, i+1)), the
// image-level "No finding" flag, undo/redo and the change tracking that the
// unsaved-changes warning and the save body need. No DOM here, so it can be
// tested in Node.

let nextKey = 1;

/** Orders, clamps to the image and rounds a box to whole pixels. */
export function normalizeBBox([x0, y0, x1, y1], width, height) {
  const clamp = (v, hi) => Math.min(hi, Math.max(0, Math.round(v)));
  return [
    clamp(Math.min(x0, x1), width),
    clamp(Math.min(y0, y1), height),
    clamp(Math.max(x0, x1), width),
    clamp(Math.max(y0, y1), height),
  ];
}

export function isEmptyBBox(b) {
  return !(b[2] - b[0] >= 1 && b[3] - b[1] >= 1);
}

export function isModelBox(box) {
  return !!(box.source && box.source.kind === 'model');
}

function clone(v) {
  return JSON.parse(JSON.stringify(v));
}

export class AnnotationDoc {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.version = null;
    this.noFinding = false;
    this.boxes = [];
    this.undoStack = [];
    this.redoStack = [];
    this.savedSnapshot = '';
    this.selected = null;
    // Bumped on every change of the boxes (views cache what they derive from them).
    this.rev = 0;
  }

  /** Loads the server's `{version, no_finding, boxes}`, discarding local edits. */
  load(state) {
    this.version = state.version;
    this.noFinding = !!state.no_finding;
    // Server fields are kept as they are (model boxes keep source, score,
    // original_bbox ...); `key` is a local identity for new boxes too.
    this.boxes = (state.boxes || []).map((b) => ({ ...clone(b), key: nextKey++ }));
    this.undoStack = [];
    this.redoStack = [];
    this.selected = null;
    this.savedSnapshot = this._snapshotText();
    this.rev++;
  }

  _snapshot() {
    return { noFinding: this.noFinding, boxes: clone(this.boxes) };
  }

  _snapshotText() {
    return JSON.stringify(this._snapshot());
  }

  isDirty() {
    return this._snapshotText() !== this.savedSnapshot;
  }

  /** Records the current state for undo, then applies `fn`. */
  change(fn) {
    const before = this._snapshot();
    const result = fn();
    this.rev++;
    if (JSON.stringify(before) !== this._snapshotText()) {
      this.undoStack.push(before);
      if (this.undoStack.length > 200) this.undoStack.shift();
      this.redoStack = [];
    }
    return result;
  }

  _restore(s) {
    this.rev++;
    this.noFinding = s.noFinding;
    this.boxes = s.boxes;
    if (!this.boxes.some((b) => b.key === this.selected)) this.selected = null;
  }

  undo() {
    if (!this.undoStack.length) return false;
    this.redoStack.push(this._snapshot());
    this._restore(this.undoStack.pop());
    return true;
  }

  redo() {
    if (!this.redoStack.length) return false;
    this.undoStack.push(this._snapshot());
    this._restore(this.redoStack.pop());
    return true;
  }

  find(key) {
    return this.boxes.find((b) => b.key === key) || null;
  }

  /** Adds a manual box; zero-size boxes (a plain click) are dropped. Returns its key or null. */
  addBox(bbox, classId) {
    const b = normalizeBBox(bbox, this.width, this.height);
    if (isEmptyBBox(b)) return null;
    const key = nextKey++;
    this.change(() => {
      this.boxes.push({ key, class_id: classId, bbox: b, status: 'manual', source: null, score: null });
    });
    this.selected = key;
    return key;
  }

  _touch(box) {
    // A model box that a person changes becomes `edited` (its original stays
    // with the server); a person's own box stays `manual`.
    if (isModelBox(box) && box.status !== 'rejected') box.status = 'edited';
  }

  setBBox(key, bbox) {
    const box = this.find(key);
    if (!box) return false;
    const b = normalizeBBox(bbox, this.width, this.height);
    if (isEmptyBBox(b) || b.every((v, i) => v === box.bbox[i])) return false;
    this.change(() => {
      box.bbox = b;
      this._touch(box);
    });
    return true;
  }

  setClass(key, classId) {
    const box = this.find(key);
    if (!box || box.class_id === classId) return false;
    this.change(() => {
      box.class_id = classId;
      this._touch(box);
    });
    return true;
  }

  setStatus(key, status) {
    const box = this.find(key);
    if (!box || box.status === status) return false;
    this.change(() => {
      box.status = status;
    });
    return true;
  }

  /** Deletes a person's box; a model box cannot be deleted, only rejected. */
  remove(key) {
    const box = this.find(key);
    if (!box) return false;
    if (isModelBox(box)) return this.setStatus(key, 'rejected');
    this.change(() => {
      this.boxes = this.boxes.filter((b) => b.key !== key);
    });
    if (this.selected === key) this.selected = null;
    return true;
  }

  setNoFinding(v) {
    if (this.noFinding === !!v) return false;
    this.change(() => {
      this.noFinding = !!v;
    });
    return true;
  }

  /**
   * Takes boxes that arrived on the server (a model's proposals) into a doc
   * with local edits: they join the current state, the saved snapshot and
   * every undo step, so they are neither "unsaved" nor undone.
   */
  adopt(version, boxes) {
    this.version = version;
    const added = boxes.map((b) => ({ ...clone(b), key: nextKey++ }));
    if (!added.length) return;
    this.rev++;
    this.boxes.push(...clone(added));
    const saved = JSON.parse(this.savedSnapshot);
    saved.boxes.push(...clone(added));
    this.savedSnapshot = JSON.stringify(saved);
    for (const s of [...this.undoStack, ...this.redoStack]) s.boxes.push(...clone(added));
  }

  /** Body of PUT /images/{id}/annotations. */
  putBody() {
    return {
      no_finding: this.noFinding,
      boxes: this.boxes.map((b) => {
        const out = { class_id: b.class_id, bbox: b.bbox.slice(), status: b.status };
        if (b.id !== undefined && b.id !== null) out.id = b.id;
        return out;
      }),
    };
  }

  /**
   * The box under an image point, preferring the smallest (a small box drawn
   * inside a large one stays reachable); rejected model boxes come last.
   */
  boxAt([x, y], tolerance = 0, visible = null) {
    let best = null;
    let bestScore = Infinity;
    for (const b of this.boxes) {
      if (visible && !visible(b)) continue;
      const [x0, y0, x1, y1] = b.bbox;
      if (x < x0 - tolerance || x > x1 + tolerance || y < y0 - tolerance || y > y1 + tolerance) continue;
      const score = (x1 - x0) * (y1 - y0) + (b.status === 'rejected' ? 1e12 : 0);
      if (score < bestScore) {
        best = b;
        bestScore = score;
      }
    }
    return best;
  }
}

/**
 * The box after dragging handle `handle` ('nw','n','ne','e','se','s','sw','w'
 * or 'move') by (dx, dy) image pixels. A move keeps the size and stays in
 * the image.
 */
export function dragBBox(bbox, handle, dx, dy, width, height) {
  let [x0, y0, x1, y1] = bbox;
  if (handle === 'move') {
    const w = x1 - x0;
    const h = y1 - y0;
    const nx = Math.min(width - w, Math.max(0, x0 + dx));
    const ny = Math.min(height - h, Math.max(0, y0 + dy));
    return [nx, ny, nx + w, ny + h];
  }
  if (handle.includes('w')) x0 += dx;
  if (handle.includes('e')) x1 += dx;
  if (handle.includes('n')) y0 += dy;
  if (handle.includes('s')) y1 += dy;
  return [x0, y0, x1, y1];
}
