// The box layer over the Cornerstone canvas: draws every box (pending model
// proposals dashed with their score; reviewed boxes — accepted, edited,
// manual — solid with a check mark; the selection with its handles) in SVG
// and turns left-button drags into new boxes, moves and resizes. A drag
// draws a new box wherever it starts, also inside another box (proposals
// often cover most of a lung); a box moves only when grabbed by its edge
// (or anywhere inside with Shift held) and resizes by the handles of the
// selected box. A click inside a box selects it. The SVG itself never takes
// pointer events, so right-drag (window/level), middle-drag (pan) and the
// wheel (zoom) always reach the viewport element.
import { dragBBox, isModelBox } from './model.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const HANDLE_PX = 5;
// How far from a box's outline (CSS px, either side) a press grabs the box to move it.
export const EDGE_PX = 5;
// A press that moves less than this (CSS px) is a click, not a drawn box.
const CLICK_PX = 3;
const REVIEWED = new Set(['accepted', 'edited', 'manual']);
const HANDLES = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export class BoxOverlay {
  /**
   * @param {HTMLElement} element Cornerstone's viewport element (events)
   * @param {import('./viewport.js').Viewer} viewer
   * @param {import('./model.js').AnnotationDoc} doc
   * @param {{labels: () => Map<number, {name: string, color: string}>, currentClass: () => number|null,
   *          canEdit: () => boolean, enabled: () => boolean, onChange: () => void}} hooks
   */
  constructor(element, viewer, doc, hooks) {
    this.element = element;
    this.viewer = viewer;
    this.doc = doc;
    this.hooks = hooks;
    this.drag = null;
    this.svg = svg('svg', { class: 'box-overlay', id: 'box-overlay' });
    element.append(this.svg);
    this._down = (e) => this.onMouseDown(e);
    this._move = (e) => this.onMouseMove(e);
    this._up = (e) => this.onMouseUp(e);
    this._hover = (e) => this.onHover(e);
    // Capture phase: decide before Cornerstone's own listeners see the event.
    element.addEventListener('mousedown', this._down, true);
    element.addEventListener('mousemove', this._hover);
  }

  destroy() {
    this.element.removeEventListener('mousedown', this._down, true);
    this.element.removeEventListener('mousemove', this._hover);
    window.removeEventListener('mousemove', this._move, true);
    window.removeEventListener('mouseup', this._up, true);
    this.svg.remove();
  }

  _canvasPoint(e) {
    const r = this.element.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  _corners(bbox) {
    const [x0, y0, x1, y1] = bbox;
    const a = this.viewer.imageToCanvas([x0, y0]);
    const b = this.viewer.imageToCanvas([x1, y1]);
    return { left: Math.min(a[0], b[0]), top: Math.min(a[1], b[1]), right: Math.max(a[0], b[0]), bottom: Math.max(a[1], b[1]) };
  }

  _handlePoints(c) {
    const mx = (c.left + c.right) / 2;
    const my = (c.top + c.bottom) / 2;
    return { nw: [c.left, c.top], n: [mx, c.top], ne: [c.right, c.top], e: [c.right, my],
      se: [c.right, c.bottom], s: [mx, c.bottom], sw: [c.left, c.bottom], w: [c.left, my] };
  }

  /**
   * What a press at canvas point p would grab: {key, handle} or null. The
   * selected box's handles resize it; a box's edge (±EDGE_PX) moves it; with
   * `inside` (Shift held) a press anywhere inside a box moves it too.
   */
  hit(p, inside = false) {
    const sel = this.doc.find(this.doc.selected);
    if (sel && (!this.hooks.visible || this.hooks.visible(sel))) {
      const c = this._corners(sel.bbox);
      const pts = this._handlePoints(c);
      for (const hdl of HANDLES) {
        const [hx, hy] = pts[hdl];
        if (Math.abs(p[0] - hx) <= HANDLE_PX + 2 && Math.abs(p[1] - hy) <= HANDLE_PX + 2) return { key: sel.key, handle: hdl };
      }
    }
    let best = null;
    let bestScore = Infinity;
    for (const b of this.doc.boxes) {
      if (this.hooks.visible && !this.hooks.visible(b)) continue;
      const c = this._corners(b.bbox);
      const near = p[0] >= c.left - EDGE_PX && p[0] <= c.right + EDGE_PX && p[1] >= c.top - EDGE_PX && p[1] <= c.bottom + EDGE_PX;
      if (!near) continue;
      const deep = p[0] > c.left + EDGE_PX && p[0] < c.right - EDGE_PX && p[1] > c.top + EDGE_PX && p[1] < c.bottom - EDGE_PX;
      if (deep && !inside) continue;
      // The smallest box wins; rejected ones come last.
      const score = (c.right - c.left) * (c.bottom - c.top) + (b.status === 'rejected' ? 1e12 : 0);
      if (score < bestScore) {
        best = b;
        bestScore = score;
      }
    }
    return best ? { key: best.key, handle: 'move' } : null;
  }

  /** The box a click at canvas point p selects (the smallest one under it). */
  boxUnder(p) {
    const b = this.doc.boxAt(this.viewer.canvasToImage(p), 0, this.hooks.visible || null);
    return b ? b.key : null;
  }

  onHover(e) {
    if (this.drag || !this.hooks.enabled()) {
      if (!this.drag) this.element.style.cursor = '';
      return;
    }
    const hit = this.hit(this._canvasPoint(e), e.shiftKey);
    const cursors = { nw: 'nwse-resize', se: 'nwse-resize', ne: 'nesw-resize', sw: 'nesw-resize', n: 'ns-resize', s: 'ns-resize', e: 'ew-resize', w: 'ew-resize', move: 'move' };
    this.element.style.cursor = hit ? cursors[hit.handle] : this.hooks.canEdit() ? 'crosshair' : '';
  }

  onMouseDown(e) {
    if (e.button !== 0 || !this.hooks.enabled()) return;
    const p = this._canvasPoint(e);
    const hit = this.hit(p, e.shiftKey);
    // The editor owns the left button: Cornerstone must not also act on it.
    e.stopPropagation();
    e.preventDefault();
    if (hit) {
      this.doc.selected = hit.key;
      const box = this.doc.find(hit.key);
      if (this.hooks.canEdit()) {
        this.drag = { kind: 'edit', key: hit.key, handle: hit.handle, start: this.viewer.canvasToImage(p), orig: box.bbox.slice(), bbox: box.bbox.slice() };
      }
    } else if (this.hooks.canEdit()) {
      // Draw, even inside another box; a mere click selects the box under it.
      const ip = this.viewer.canvasToImage(p);
      this.drag = { kind: 'draw', start: ip, startCanvas: p, bbox: [ip[0], ip[1], ip[0], ip[1]], clickKey: this.boxUnder(p) };
    } else {
      this.doc.selected = this.boxUnder(p);
    }
    if (this.drag) {
      window.addEventListener('mousemove', this._move, true);
      window.addEventListener('mouseup', this._up, true);
    }
    this.hooks.onChange();
  }

  onMouseMove(e) {
    if (!this.drag) return;
    e.stopPropagation();
    const ip = this.viewer.canvasToImage(this._canvasPoint(e));
    const d = this.drag;
    if (d.kind === 'draw') {
      d.bbox = [d.start[0], d.start[1], ip[0], ip[1]];
    } else {
      d.bbox = dragBBox(d.orig, d.handle, ip[0] - d.start[0], ip[1] - d.start[1], this.doc.width, this.doc.height);
    }
    this.render();
  }

  onMouseUp(e) {
    window.removeEventListener('mousemove', this._move, true);
    window.removeEventListener('mouseup', this._up, true);
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    e.stopPropagation();
    if (d.kind === 'draw') {
      const end = this._canvasPoint(e);
      const click = Math.abs(end[0] - d.startCanvas[0]) < CLICK_PX && Math.abs(end[1] - d.startCanvas[1]) < CLICK_PX;
      const cls = this.hooks.currentClass();
      if (click) this.doc.selected = d.clickKey;
      else if (cls !== null) {
        // Zero-size boxes are dropped there.
        if (this.doc.addBox(d.bbox, cls) === null) this.doc.selected = d.clickKey;
      }
    } else {
      this.doc.setBBox(d.key, d.bbox);
    }
    this.hooks.onChange();
  }

  /** Redraws every box at the current camera. */
  render() {
    const labels = this.hooks.labels();
    const rect = this.element.getBoundingClientRect();
    this.svg.setAttribute('width', String(rect.width));
    this.svg.setAttribute('height', String(rect.height));
    const parts = [];
    const draw = (box, bbox, extraClass) => {
      const c = this._corners(bbox);
      const label = labels.get(box.class_id);
      const color = (label && label.color) || '#ffcc00';
      const model = isModelBox(box);
      const status = box.status || 'manual';
      const reviewed = REVIEWED.has(status) && !extraClass.includes('drawing');
      const g = svg('g', { class: `box ${extraClass}${model ? ' model' : ''}${reviewed ? ' reviewed' : ''} status-${status}`, 'data-key': box.key, 'data-class-id': box.class_id });
      const r = svg('rect', { x: c.left, y: c.top, width: Math.max(0, c.right - c.left), height: Math.max(0, c.bottom - c.top), stroke: color });
      // Pending proposals are dashed; what a person has reviewed is solid.
      if (status === 'proposed') r.setAttribute('stroke-dasharray', '6 4');
      g.append(r);
      let text = label ? label.name : `class ${box.class_id}`;
      if (reviewed) text = `✓ ${text}`;
      if (model && typeof box.score === 'number') text += ` ${box.score.toFixed(2)}`;
      if (status === 'rejected') text = `✗ ${text} (rejected)`;
      const t = svg('text', { x: c.left + 2, y: c.top - 4, fill: color, class: 'box-label' });
      t.textContent = text;
      g.append(t);
      if (extraClass.includes('selected')) {
        for (const [hx, hy] of Object.values(this._handlePoints(c))) {
          g.append(svg('rect', { class: 'handle', x: hx - HANDLE_PX, y: hy - HANDLE_PX, width: 2 * HANDLE_PX, height: 2 * HANDLE_PX }));
        }
      }
      parts.push(g);
    };
    for (const box of this.doc.boxes) {
      if (this.hooks.visible && !this.hooks.visible(box)) continue;
      const dragging = this.drag && this.drag.kind === 'edit' && this.drag.key === box.key;
      draw(box, dragging ? this.drag.bbox : box.bbox, box.key === this.doc.selected ? 'selected' : '');
    }
    if (this.drag && this.drag.kind === 'draw') {
      const cls = this.hooks.currentClass();
      draw({ key: 'new', class_id: cls, status: 'manual' }, this.drag.bbox, 'drawing');
    }
    this.svg.replaceChildren(...parts);
  }
}
