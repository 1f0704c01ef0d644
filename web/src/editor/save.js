// What the image page changes on the server: Save (PUT of the annotations
// with If-Match on the version they were loaded at), the conflict banner when
// someone else saved in between (reload theirs, or keep editing), and the
// image's review status (PATCH; read back after a save, which moves a new
// image to in_review).
import { api, get, ApiError } from '../api.js';
import { h, toast } from '../dom.js';

/**
 * @param {import('./state.js').EditorState} state
 * @param {{saving: () => void, saved: () => void}} hooks saving: a save has
 *   started; saved: the server's annotations changed (the history is stale)
 */
export function createSaver(state, hooks) {
  const idPath = state.idPath;
  const conflict = h('div', { class: 'conflict-banner', id: 'conflict', role: 'alert', hidden: true });
  let saving = false;

  async function reloadAnnotations() {
    state.doc.load(await get(`${idPath}/annotations`));
    conflict.hidden = true;
    state.changed();
  }

  function showConflict(err) {
    conflict.replaceChildren(
      h('strong', {}, 'Save conflict: '),
      `someone else saved this image's annotations after you opened it (${err.message}). Your changes were NOT saved. `,
      h('button', { type: 'button', id: 'conflict-reload', class: 'primary', onclick: async () => {
        try {
          await reloadAnnotations();
          hooks.saved();
          toast('Loaded the latest annotations; your unsaved changes were discarded.');
        } catch (e) {
          toast(e.message, 'error');
        }
      } }, 'Reload latest (discard mine)'),
      ' ',
      h('button', { type: 'button', id: 'conflict-dismiss', onclick: () => { conflict.hidden = true; } }, 'Keep editing'));
    conflict.hidden = false;
  }

  /** Saves; resolves true when the annotations on the server are this document. */
  async function save() {
    if (!state.canEdit || saving) return false;
    saving = true;
    let ok = false;
    hooks.saving();
    try {
      const { data } = await api('PUT', `${idPath}/annotations`, {
        body: state.doc.putBody(),
        headers: { 'If-Match': `"${state.doc.version}"` },
      });
      // The answer is the new state; should it ever be shorter, read it back.
      state.reload(data && Array.isArray(data.boxes) ? data : await get(`${idPath}/annotations`));
      conflict.hidden = true;
      toast('Saved');
      ok = true;
      hooks.saved();
      // The first save moves a new image to in_review: show what the server says.
      refreshMeta();
    } catch (e) {
      if (e instanceof ApiError && (e.status === 409 || e.status === 412)) showConflict(e);
      else toast(`Save failed: ${e.message}`, 'error');
    } finally {
      saving = false;
      state.changed();
    }
    return ok;
  }

  async function refreshMeta() {
    try {
      const m = await get(idPath);
      if (state.destroyed) return;
      state.setMeta(m);
    } catch {
      // Kept as it was; the next save or reload tries again.
    }
  }

  /** Sets the image's review status (rejects when the server refuses). */
  async function setStatus(status) {
    const { data } = await api('PATCH', idPath, { body: { status } });
    state.setMeta(data || { ...state.meta, status });
  }

  return { conflict, save, setStatus, isSaving: () => saving };
}
