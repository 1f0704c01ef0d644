// The side panel's "DICOM SR" section: the image's boxes as a DICOM SR,
// out and in (docs/http-api.md, docs/dicom-sr.md): "Export SR" downloads
// GET /images/{id}/sr (reviewed boxes; with "+ proposals" the unreviewed
// ones too), "Import SR" posts a
// chosen .dcm file to POST /images/{id}/sr as a multipart `file` part. The
// import saves on the server, so it needs a saved document: with unsaved
// changes it asks to save first. Its answer is the new annotations. Below
// them, for radiologists, "Send to PACS" (dicomsend.js).
import { uploadFiles } from '../api.js';
import { h, toast } from '../dom.js';
import { createSendTools } from './dicomsend.js';

/**
 * @param {import('./state.js').EditorState} state
 * @param {{imported: () => void}} hooks imported: the server's annotations changed
 */
export function createSrTools(state, hooks) {
  const base = `/api/v1${state.idPath}/sr`;
  const file = `carina-image-${state.imageId}-sr.dcm`;
  const exportLink = h('a', { href: base, download: file, id: 'sr-export', class: 'small', title: 'Download the reviewed boxes as a DICOM SR (TID 1500)' }, 'Export SR');
  const exportAll = h('a', { href: `${base}?include=proposals`, download: file, id: 'sr-export-all', class: 'small', title: 'The SR with the unreviewed model proposals too' }, '+ proposals');
  if (!state.canEdit) return { el: h('div', { class: 'sr-tools', id: 'sr-tools' }, exportLink, ' ', exportAll) };

  const picker = h('input', { type: 'file', accept: '.dcm,application/dicom', id: 'sr-import-file', hidden: true });
  const importBtn = h('button', { type: 'button', id: 'sr-import', class: 'small', title: 'Add or restore boxes from a DICOM SR (TID 1500)', onclick: () => {
    if (state.doc.isDirty()) {
      toast('Save or undo your changes before importing an SR.', 'error');
      return;
    }
    picker.click();
  } }, 'Import SR');
  picker.addEventListener('change', async () => {
    const chosen = picker.files && picker.files[0];
    picker.value = '';
    if (!chosen) return;
    importBtn.disabled = true;
    try {
      const done = await uploadFiles([chosen], () => {}, { path: `${state.idPath}/sr` });
      state.reload(done.annotations);
      state.changed();
      hooks.imported();
      toast(`SR imported: ${done.restored} restored, ${done.added} added, ${done.unchanged} already there`);
    } catch (e) {
      toast(`SR import failed: ${e.message}`, 'error');
    } finally {
      importBtn.disabled = false;
    }
  });
  const send = createSendTools(state);
  return {
    el: h('div', { class: 'sr-tools', id: 'sr-tools' }, exportLink, ' ', exportAll, ' ', importBtn, picker, send.el),
    destroy: send.destroy,
  };
}
