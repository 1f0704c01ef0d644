// The label picker of the side panel: the labels not retired, keys 1–9; the
// label of new boxes is marked, a click makes a label that one (and gives it
// to the selected box). The labels are read once a minute at most: one
// request serves the images of a worklist run.
import { get } from '../api.js';
import { h } from '../dom.js';

let labelsCache = null;

/** GET /labels, cached for a minute (a failed answer is not kept). */
export function getLabels() {
  if (!labelsCache || Date.now() - labelsCache.at > 60_000) {
    labelsCache = { at: Date.now(), data: get('/labels') };
    labelsCache.data.catch(() => {
      labelsCache = null;
    });
  }
  return labelsCache.data;
}

/** `show()` lists `state.activeLabels`; `refresh()` marks `state.currentClass`. */
export function createLabelPicker(state) {
  const el = h('ol', { class: 'labels', id: 'label-list' });
  return {
    el,
    show() {
      el.replaceChildren(...state.activeLabels.map((l, i) => h('li', {
        class: 'label-item', dataset: { classId: String(l.id) }, onclick: () => state.setLabel(l.id),
      }, h('kbd', {}, i < 9 ? String(i + 1) : ''), h('span', { class: 'swatch', style: { background: l.color } }), ` ${l.name}`)));
    },
    refresh() {
      for (const li of el.children) li.classList.toggle('active', Number(li.dataset.classId) === state.currentClass);
    },
  };
}
