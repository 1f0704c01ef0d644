// The side panel's history of the image's annotations (GET …/history), newest
// first: version, action and who (the model credited for proposals), when,
// and the box count before → after.
import { get } from '../api.js';
import { h, fmtTime } from '../dom.js';
import { historyCredit } from './review.js';

const boxCount = (s) => (s && Array.isArray(s.boxes) ? s.boxes.length : 0);

function entryItem(e) {
  const [ver, ...rest] = historyCredit(e).split(' · ');
  return h('li', { class: `history-entry history-${e.action}` },
    h('strong', {}, ver), ` ${rest.join(' · ')} `,
    h('span', { class: 'muted small' }, `${fmtTime(e.at)} · ${boxCount(e.before)} → ${boxCount(e.after)} boxes${e.after && e.after.no_finding ? ' · no finding' : ''}`));
}

/** The history list of the image at `idPath`; `load()` reads it (again). */
export function createHistory(idPath) {
  const el = h('ol', { class: 'history', id: 'history-list' }, h('li', { class: 'muted' }, 'Loading…'));
  return {
    el,
    async load() {
      try {
        const data = await get(`${idPath}/history`);
        const entries = (data.entries || []).slice().reverse();
        el.replaceChildren(...entries.map(entryItem));
        if (!entries.length) el.append(h('li', { class: 'muted' }, 'No changes yet.'));
      } catch (e) {
        el.replaceChildren(h('li', { class: 'form-error' }, `History unavailable: ${e.message}`));
      }
    },
  };
}
