// A radiograph (the server's 8-bit render) with boxes drawn over it in SVG,
// in the image's own pixel coordinates. Optionally draws new boxes by
// dragging. Used by blind reading and the reviewer's side-by-side view,
// which need no window/level or zoom of the full editor.
import { h } from '../dom.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * `image` is the image object (id, width, height). `onDraw(bbox)` (optional)
 * is called with [x0, y0, x1, y1] when the user drags out a box.
 */
export function boxCanvas(image, { onDraw, id, maxWidth = 640 } = {}) {
  const wrap = h('div', { class: 'boxcanvas', id: id || null, style: { maxWidth: maxWidth + 'px' } });
  const img = h('img', { src: `/api/v1/images/${image.id}/render`, alt: `image ${image.id}`, draggable: false });
  const overlay = svg('svg', { viewBox: `0 0 ${image.width} ${image.height}`, preserveAspectRatio: 'none', class: 'boxcanvas-svg' });
  wrap.append(img, overlay);
  let boxes = [];

  const toImage = (ev) => {
    const r = overlay.getBoundingClientRect();
    const x = ((ev.clientX - r.left) / r.width) * image.width;
    const y = ((ev.clientY - r.top) / r.height) * image.height;
    return [Math.max(0, Math.min(image.width, x)), Math.max(0, Math.min(image.height, y))];
  };

  function redraw(preview) {
    overlay.replaceChildren();
    const stroke = Math.max(1.5, image.width / 300);
    const all = preview ? [...boxes, preview] : boxes;
    for (const b of all) {
      const [x0, y0, x1, y1] = b.bbox;
      overlay.append(svg('rect', {
        x: x0, y: y0, width: x1 - x0, height: y1 - y0, fill: 'none',
        stroke: b.color || '#4da3ff', 'stroke-width': stroke, 'stroke-dasharray': b.dashed ? `${stroke * 3} ${stroke * 2}` : 'none',
        class: 'box',
      }));
      if (b.label) {
        const t = svg('text', { x: x0 + stroke, y: Math.max(y0 - stroke * 2, stroke * 8), fill: b.color || '#4da3ff', 'font-size': stroke * 8 });
        t.textContent = b.label;
        overlay.append(t);
      }
    }
  }

  if (onDraw) {
    overlay.classList.add('drawable');
    let start = null;
    overlay.addEventListener('pointerdown', (ev) => {
      start = toImage(ev);
      overlay.setPointerCapture(ev.pointerId);
    });
    overlay.addEventListener('pointermove', (ev) => {
      if (!start) return;
      const p = toImage(ev);
      redraw({ bbox: [Math.min(start[0], p[0]), Math.min(start[1], p[1]), Math.max(start[0], p[0]), Math.max(start[1], p[1])], dashed: true });
    });
    overlay.addEventListener('pointerup', (ev) => {
      if (!start) return;
      const p = toImage(ev);
      const bbox = [Math.min(start[0], p[0]), Math.min(start[1], p[1]), Math.max(start[0], p[0]), Math.max(start[1], p[1])].map((v) => Math.round(v * 10) / 10);
      start = null;
      if (bbox[2] - bbox[0] >= 2 && bbox[3] - bbox[1] >= 2) onDraw(bbox);
      else redraw();
    });
  }

  return {
    el: wrap,
    /** [{bbox, color, label, dashed}] */
    setBoxes(list) {
      boxes = list;
      redraw();
    },
  };
}

/** A colour per reader, stable by position. */
export const READER_COLORS = ['#ff6b6b', '#4dd4ff', '#ffd84d', '#8dff6b', '#d77bff', '#ff9f43', '#5f8bff', '#ff7bd0'];
