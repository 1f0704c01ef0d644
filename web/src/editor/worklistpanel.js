// The worklist box of the side panel: Previous / Next through the images of
// the library's filter (saving first), the position in that list and how
// many of it are reviewed, and "Accept shown · done · next" (Shift+Enter).
// The next image is prefetched once this one is on screen.
import { h, toast } from '../dom.js';
import { navigate } from '../app.js';
import { prefetchImage } from './viewport.js';
import { openWorklist, prefetchData } from './worklist.js';

export const fileUrl = (id) => `/api/v1/images/${encodeURIComponent(id)}/file`;

/**
 * @param {import('./state.js').EditorState} state
 * @param {ReturnType<import('./save.js').createSaver>} saver
 */
export function createWorklistPanel(state, saver) {
  const canEdit = state.canEdit;
  const pos = h('span', { id: 'worklist-pos', class: 'small' }, '…');
  const progress = h('span', { id: 'worklist-progress', class: 'muted small' });
  const prevBtn = h('button', { type: 'button', id: 'worklist-prev', class: 'small', title: 'Previous image of the list ([ or Shift+N); saves first', disabled: true, onclick: () => goTo(-1) }, '‹ Prev');
  const nextBtn = h('button', { type: 'button', id: 'worklist-next', class: 'small', title: 'Next image of the list (] or N); saves first', disabled: true, onclick: () => goTo(1) }, 'Next ›');
  const doneNextBtn = h('button', { type: 'button', id: 'worklist-done-next', class: 'small primary', title: 'Accept the proposals shown, save, mark done, next image (Shift+Enter)', disabled: !canEdit, onclick: () => acceptDoneNext() }, 'Accept shown · done · next');
  const el = h('div', { class: 'worklist', id: 'worklist' },
    h('div', { class: 'worklist-row' }, prevBtn, pos, nextBtn),
    h('div', { class: 'worklist-row' }, progress),
    canEdit ? h('div', { class: 'worklist-row' }, doneNextBtn) : null);
  let worklist = null;
  let moving = false;

  /** Opens the list around the image; resolves when its position is shown. */
  async function setup() {
    try {
      worklist = await openWorklist(state.imageId);
    } catch (e) {
      pos.textContent = 'no list';
      pos.title = e.message;
      return;
    }
    if (state.destroyed) return;
    const n = worklist.ids.length;
    pos.textContent = worklist.index >= 0 ? `${worklist.index + 1} / ${n}` : `– / ${n}`;
    pos.title = worklist.query ? `images of the library filter ${decodeURIComponent(worklist.query)}` : 'all images';
    prevBtn.disabled = !worklist.previous();
    nextBtn.disabled = !worklist.next();
    showProgress();
  }

  async function showProgress() {
    if (!worklist) return;
    try {
      const p = await worklist.progress();
      if (state.destroyed) return;
      progress.textContent = `${p.done} of ${p.total} reviewed`;
      progress.dataset.done = String(p.done);
      progress.dataset.total = String(p.total);
    } catch {
      progress.textContent = '';
    }
  }

  // Prefetch the next image (pixels decoded into Cornerstone's cache, its metadata and boxes).
  function prefetchNext() {
    const id = worklist && worklist.next();
    if (!id || state.destroyed) return;
    prefetchData(id);
    prefetchImage(fileUrl(id)).catch(() => {});
  }

  /** Next (+1) or previous (−1) image of the list, saving first when there are changes. */
  async function goTo(delta) {
    if (moving || !worklist) return false;
    const id = delta > 0 ? worklist.next() : worklist.previous();
    if (!id) {
      toast(delta > 0 ? 'This is the last image of the list' : 'This is the first image of the list');
      return false;
    }
    moving = true;
    try {
      if (canEdit && state.doc.isDirty() && !(await saver.save())) return false;
      if (state.destroyed) return false;
      navigate(`#/images/${encodeURIComponent(id)}`);
      return true;
    } finally {
      moving = false;
    }
  }

  /** Shift+Enter: accept the proposals shown, save, mark the image done, go to the next one. */
  async function acceptDoneNext() {
    if (!canEdit || moving || saver.isSaving()) return;
    moving = true;
    try {
      if (state.review) state.review.acceptAll({ quiet: true });
      state.changed();
      if (state.doc.isDirty() && !(await saver.save())) return;
      if (state.meta && state.meta.status !== 'done') await saver.setStatus('done');
    } catch (e) {
      toast(`Could not mark the image done: ${e.message}`, 'error');
      return;
    } finally {
      moving = false;
    }
    if (state.destroyed) return;
    if (worklist && worklist.next()) goTo(1);
    else {
      showProgress();
      toast('Done. That was the last image of the list.');
    }
  }

  return { el, setup, showProgress, prefetchNext, goTo, acceptDoneNext };
}
