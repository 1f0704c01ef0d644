// The blind reader's image: the editor's Cornerstone viewport
// (editor/viewport.js, reused as it is: full bit depth, window/level with the
// right button or in W/L mode, pan with the middle button or in Pan mode,
// wheel zoom, fit) with the reader's own boxes drawn over it in SVG, and
// left-button drags turned into new boxes in Box mode.
import { Viewer } from '../editor/viewport.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * `element` is the (sized) div Cornerstone renders into; `image` the image
 * object (id, width, height). Hooks: `onDraw(bbox)` after a drag in Box mode,
 * `onChange()` after the camera or window changed, `onError(msg)`.
 */
export class ReadingViewport {
  constructor(element, image, { onDraw, onChange = () => {}, onError = () => {} } = {}) {
    this.element = element;
    this.image = image;
    this.onDraw = onDraw;
    this.mode = onDraw ? 'box' : 'wl';
    this.boxes = [];
    this.drag = null;
    this.viewer = new Viewer(element, { onError, onChange: () => { this.render(); onChange(); } });
    this.svg = svg('svg', { class: 'box-overlay', id: 'reading-overlay' });
    this._down = (e) => this._onDown(e);
    this._move = (e) => this._onMove(e);
    this._up = (e) => this._onUp(e);
  }

  async open() {
    await this.viewer.open(`/api/v1/images/${encodeURIComponent(this.image.id)}/file`);
    // Boxes are mapped through the image's geometry: only once it is loaded.
    this.opened = true;
    this.element.append(this.svg);
    // Capture phase: in Box mode the left button is ours, not Cornerstone's.
    this.element.addEventListener('mousedown', this._down, true);
    this.setMode(this.mode);
    this.render();
  }

  /** 'box' (left button draws), 'wl' (window/level) or 'pan'. */
  setMode(mode) {
    this.mode = mode === 'box' && !this.onDraw ? 'wl' : mode;
    if (this.viewer.viewport) this.viewer.setLeftTool(this.mode === 'box' ? null : this.mode);
    this.element.style.cursor = this.mode === 'box' ? 'crosshair' : '';
  }

  fit() {
    if (this.viewer.viewport) this.viewer.fit();
  }

  /** [{bbox, color, label}] in original image pixels. */
  setBoxes(list) {
    this.boxes = list;
    this.render();
  }

  _point(e) {
    const r = this.element.getBoundingClientRect();
    return this.viewer.canvasToImage([e.clientX - r.left, e.clientY - r.top]);
  }

  _clamp([x, y]) {
    return [Math.max(0, Math.min(this.image.width, x)), Math.max(0, Math.min(this.image.height, y))];
  }

  _onDown(e) {
    if (e.button !== 0 || this.mode !== 'box' || !this.onDraw || !this.opened) return;
    e.stopPropagation();
    e.preventDefault();
    this.element.focus();
    const p = this._clamp(this._point(e));
    this.drag = { start: p, end: p };
    window.addEventListener('mousemove', this._move, true);
    window.addEventListener('mouseup', this._up, true);
  }

  _onMove(e) {
    if (!this.drag) return;
    e.stopPropagation();
    this.drag.end = this._clamp(this._point(e));
    this.render();
  }

  _onUp(e) {
    window.removeEventListener('mousemove', this._move, true);
    window.removeEventListener('mouseup', this._up, true);
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    e.stopPropagation();
    const [a, b] = [d.start, d.end];
    const bbox = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])].map((v) => Math.round(v));
    if (bbox[2] - bbox[0] >= 2 && bbox[3] - bbox[1] >= 2) this.onDraw(bbox);
    this.render();
  }

  render() {
    if (!this.opened || !this.viewer.viewport) return;
    const rect = this.element.getBoundingClientRect();
    this.svg.setAttribute('width', String(rect.width));
    this.svg.setAttribute('height', String(rect.height));
    const parts = [];
    const draw = (bbox, color, label, cls) => {
      const a = this.viewer.imageToCanvas([bbox[0], bbox[1]]);
      const b = this.viewer.imageToCanvas([bbox[2], bbox[3]]);
      const x = Math.min(a[0], b[0]);
      const y = Math.min(a[1], b[1]);
      const g = svg('g', { class: `box ${cls}` });
      const r = svg('rect', { x, y, width: Math.abs(b[0] - a[0]), height: Math.abs(b[1] - a[1]), stroke: color || '#4da3ff' });
      g.append(r);
      if (label) {
        const t = svg('text', { x: x + 2, y: y - 4, fill: color || '#4da3ff' });
        t.textContent = label;
        g.append(t);
      }
      parts.push(g);
    };
    for (const b of this.boxes) draw(b.bbox, b.color, b.label, 'reading-box');
    if (this.drag) {
      const [a, b] = [this.drag.start, this.drag.end];
      draw([Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])], '#ffffff', '', 'drawing');
    }
    this.svg.replaceChildren(...parts);
  }

  destroy() {
    this.opened = false;
    this.element.removeEventListener('mousedown', this._down, true);
    window.removeEventListener('mousemove', this._move, true);
    window.removeEventListener('mouseup', this._up, true);
    this.svg.remove();
    this.viewer.destroy();
  }
}
