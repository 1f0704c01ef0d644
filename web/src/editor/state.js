// The image page's state: the image object from the server (`meta`, its
// review status), the annotation document being edited (boxes, selection,
// the version sent as If-Match, dirty tracking: model.js), the labels and
// the label of new boxes, the left button's tool, and the model-suggestions
// controller (review.js) that decides which boxes are drawn. The methods
// below change it and tell the components that listen: 'doc' (boxes,
// selection, label, No finding), 'mode' (left-button tool), 'meta' (the
// image's status). No DOM and no requests here.
import { AnnotationDoc, isModelBox } from './model.js';

export class EditorState {
  /**
   * @param {string|number} imageId
   * @param {boolean} canEdit whether the user may change boxes and status (admin, radiologist)
   */
  constructor(imageId, canEdit) {
    this.imageId = imageId;
    this.idPath = `/images/${encodeURIComponent(imageId)}`;
    this.canEdit = canEdit;
    this.doc = new AnnotationDoc(1, 1);
    this.meta = null;
    /** Every label by id (retired ones too: old boxes keep them). */
    this.labels = new Map();
    /** The labels offered for new boxes, keys 1–9 in this order. */
    this.activeLabels = [];
    this.currentClass = null;
    this.mode = canEdit ? 'box' : 'wl';
    /** The model-suggestions controller (createReview), once the image is loaded. */
    this.review = null;
    /** Set when the page is left; late answers are then dropped. */
    this.destroyed = false;
    this.listeners = { doc: [], mode: [], meta: [] };
  }

  /** Calls `fn(state)` after every change of kind `event` ('doc', 'mode', 'meta'). */
  on(event, fn) {
    this.listeners[event].push(fn);
  }

  emit(event) {
    for (const fn of this.listeners[event]) fn(this);
  }

  /** The document changed (or its selection, label, threshold): redraw. */
  changed() {
    this.emit('doc');
  }

  /** Whether `box` is drawn (the threshold and the proposal cap hide some). */
  shown(box) {
    return !this.review || this.review.visible(box);
  }

  /** The labels as GET /labels gives them; the first one not retired labels new boxes. */
  setLabels(labelData) {
    this.labels = new Map(labelData.labels.map((l) => [l.id, l]));
    this.activeLabels = labelData.labels.filter((l) => !l.retired).sort((a, b) => a.id - b.id);
    this.currentClass = this.activeLabels.length ? this.activeLabels[0].id : null;
  }

  /** A new document of the image's (`meta`'s) size with the server's annotations. */
  openDoc(annotations) {
    this.doc = new AnnotationDoc(this.meta.width, this.meta.height);
    this.doc.load(annotations);
  }

  setMeta(meta) {
    this.meta = meta;
    this.emit('meta');
  }

  setMode(mode) {
    if (mode === 'box' && !this.canEdit) return;
    this.mode = mode;
    this.emit('mode');
  }

  select(key) {
    this.doc.selected = key;
    this.changed();
  }

  /** The label of new boxes; the selected box takes it too. */
  setLabel(classId) {
    this.currentClass = classId;
    if (this.canEdit && this.doc.selected !== null) this.doc.setClass(this.doc.selected, classId);
    this.changed();
  }

  /** Accepts or rejects a proposal; accepting one a person moved keeps it `edited` (the server keeps the model's original). */
  decide(key, status) {
    const b = this.doc.find(key);
    if (!this.canEdit || !b || !isModelBox(b)) return;
    const moved = b.original_bbox || b.status === 'edited';
    this.doc.setStatus(key, status === 'accepted' && moved ? 'edited' : status);
    this.doc.selected = key;
    this.changed();
  }

  undo() {
    if (this.doc.undo()) this.changed();
  }

  redo() {
    if (this.doc.redo()) this.changed();
  }

  setNoFinding(value) {
    this.doc.setNoFinding(value);
    this.changed();
  }

  removeSelected() {
    const doc = this.doc;
    if (this.canEdit && doc.selected !== null && doc.remove(doc.selected)) this.changed();
  }

  /** Moves the selected box by (dx, dy) pixels, stopping at the image's edges. */
  moveSelected(dx, dy) {
    const doc = this.doc;
    const b = doc.find(doc.selected);
    if (!b) return;
    const [x0, y0, x1, y1] = b.bbox;
    const mx = Math.min(doc.width - x1, Math.max(-x0, dx));
    const my = Math.min(doc.height - y1, Math.max(-y0, dy));
    doc.setBBox(b.key, [x0 + mx, y0 + my, x1 + mx, y1 + my]);
    this.changed();
  }

  /** Selects the next (or, `back`, the previous) drawn box, round the list. */
  cycleSelection(back) {
    const doc = this.doc;
    const list = doc.boxes.filter((b) => this.shown(b));
    const i = list.findIndex((b) => b.key === doc.selected);
    const n = list.length;
    if (n) doc.selected = list[(i + (back ? n - 1 : 1) + n) % n].key;
    this.changed();
  }

  /** The server's annotations after a save, keeping the selection on the same box (local keys are new after a load). */
  reload(annotations) {
    const doc = this.doc;
    const sel = doc.find(doc.selected);
    doc.load(annotations);
    const same = sel && doc.boxes.find((b) => b.class_id === sel.class_id && b.bbox.every((v, i) => v === sel.bbox[i]));
    doc.selected = same ? same.key : null;
  }
}
