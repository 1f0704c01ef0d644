// The side panel's list of the drawn boxes: label, status, who drew it (the
// model with its version and score, or the user), the box in pixels; a click
// selects it; a proposal has ✓ / ✗ (accept, reject) for users who edit.
import { h } from '../dom.js';
import { session } from '../app.js';
import { isModelBox } from './model.js';

/** Who made `box`: "model v · score" or the user's name. */
function sourceText(box) {
  if (isModelBox(box)) return `${box.source.model || 'model'} ${box.source.version || ''} · ${typeof box.score === 'number' ? box.score.toFixed(2) : ''}`;
  return (box.source && box.source.user) || session.user.username;
}

function boxItem(state, b) {
  const doc = state.doc;
  const label = state.labels.get(b.class_id);
  const decide = (status) => (e) => {
    e.stopPropagation();
    state.decide(b.key, status);
  };
  return h('li', {
    class: `box-item${b.key === doc.selected ? ' selected' : ''}${isModelBox(b) ? ' model' : ''}`,
    dataset: { key: String(b.key), classId: String(b.class_id), bbox: JSON.stringify(b.bbox), status: b.status },
    onclick: () => state.select(b.key),
  },
  h('span', { class: 'swatch', style: { background: (label && label.color) || '#fc0' } }),
  h('span', { class: 'box-name' }, label ? label.name : `class ${b.class_id}`),
  h('span', { class: 'muted small' }, ` ${b.status} · ${sourceText(b)} · [${b.bbox.map((v) => Math.round(v)).join(', ')}]`),
  isModelBox(b) && state.canEdit ? h('span', { class: 'box-actions' },
    h('button', { type: 'button', class: 'small accept-btn', title: 'Accept (A)', onclick: decide('accepted') }, '✓'),
    h('button', { type: 'button', class: 'small reject-btn', title: 'Reject (X)', onclick: decide('rejected') }, '✗')) : null);
}

/** The list of `state`'s drawn boxes; `refresh()` redraws it. */
export function createBoxList(state) {
  const el = h('ul', { class: 'boxes', id: 'box-list' });
  return {
    el,
    refresh() {
      const doc = state.doc;
      el.replaceChildren(...doc.boxes.filter((b) => state.shown(b)).map((b) => boxItem(state, b)));
      if (!doc.boxes.length) el.append(h('li', { class: 'muted' }, state.canEdit ? 'No boxes. Drag on the image to draw one.' : 'No boxes.'));
    },
  };
}
