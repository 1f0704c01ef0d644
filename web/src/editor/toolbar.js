// The image page's toolbar, left to right: back to the library, the image's
// name and burned-in badge; the left button's tool (Box, W/L, Pan); window
// presets, invert, fit, 1:1 and the W/L and zoom read-outs; then the
// document's controls: undo / redo, "No finding", the review status, Save
// and what the save state is; the help button.
import { h, toast } from '../dom.js';
import { burnedInBadge } from '../burned.js';
import { PRESETS } from './viewport.js';
import { libraryFilter } from './worklist.js';

export const STATUS_NAMES = { new: 'new', in_review: 'in review', done: 'done' };

const button = (id, text, title, onclick) => h('button', { type: 'button', id, title, onclick }, text);

/** Back link, title and burned-in badge; `show(meta)` names the image once it is known. */
function imageTitle(imageId) {
  const title = h('span', { class: 'title', id: 'image-title' }, `image ${imageId}`);
  const back = h('a', { href: '#/images' + (libraryFilter() ? '?' + libraryFilter() : ''), id: 'back' }, '‹ Library');
  const burnedIn = h('span', { id: 'burned-in' });
  return {
    nodes: [back, title, burnedIn],
    show(meta) {
      title.textContent = meta.display_name || meta.original_filename || `image ${imageId}`;
      title.title = `${meta.width}×${meta.height} · ${meta.format} · ${meta.bits_stored || '?'} bit · ${meta.photometric || ''}`;
      const badge = burnedInBadge(meta);
      if (badge) burnedIn.append(badge);
    },
  };
}

/** Tools, presets, invert / fit / 1:1 and the read-outs of the viewer's camera. */
function viewTools(state, viewer) {
  const wlDisplay = h('span', { id: 'wl-display', class: 'wl' }, 'W – / L –');
  const zoomDisplay = h('span', { id: 'zoom-display', class: 'muted small' });
  const presetSel = h('select', { id: 'preset', title: 'Window presets (Shift+1…5)' },
    ...PRESETS.map((p) => h('option', { value: p.id }, p.name)));
  presetSel.addEventListener('change', () => viewer.applyPreset(presetSel.value));
  const modeButtons = {};
  const modeBtn = (mode, text, key) => {
    modeButtons[mode] = h('button', { type: 'button', class: 'mode', id: `mode-${mode}`, title: `${text} (${key})`, onclick: () => state.setMode(mode) }, text);
    return modeButtons[mode];
  };
  state.on('mode', () => {
    for (const [k, b] of Object.entries(modeButtons)) b.classList.toggle('active', k === state.mode);
  });
  return {
    nodes: [
      h('span', { class: 'group' }, state.canEdit ? modeBtn('box', 'Box', 'B') : null, modeBtn('wl', 'W/L', 'W'), modeBtn('pan', 'Pan', 'P')),
      h('span', { class: 'group' }, presetSel, button('invert', 'Invert', 'Invert (I)', () => viewer.invert()),
        button('fit', 'Fit', 'Fit to window (F)', () => viewer.fit()), button('one-to-one', '1:1', 'One image pixel per screen pixel (O)', () => viewer.oneToOne())),
      wlDisplay, zoomDisplay,
    ],
    applyPreset(id) {
      presetSel.value = id;
      viewer.applyPreset(id);
    },
    /** The window/level and zoom now on screen. */
    showCamera() {
      const wl = viewer.windowLevel();
      if (wl) {
        wlDisplay.textContent = `W ${Math.round(wl.width)} / L ${Math.round(wl.center)}`;
        wlDisplay.dataset.width = String(wl.width);
        wlDisplay.dataset.center = String(wl.center);
      }
      try {
        const z = viewer.viewport.getZoom();
        zoomDisplay.textContent = `zoom ${z.toFixed(2)}×${viewer.isInverted() ? ' · inverted' : ''}`;
      } catch {
        zoomDisplay.textContent = '';
      }
    },
  };
}

/** The review status picker; `actions.setStatus` asks the server, `actions.statusChanged` follows a change. */
function statusPicker(state, actions) {
  const statusSel = h('select', { id: 'image-status', disabled: !state.canEdit },
    ...Object.entries(STATUS_NAMES).map(([v, n]) => h('option', { value: v }, n)));
  statusSel.addEventListener('change', async () => {
    try {
      await actions.setStatus(statusSel.value);
      toast(`Status: ${STATUS_NAMES[statusSel.value]}`);
      actions.statusChanged();
    } catch (e) {
      toast(`Could not change status: ${e.message}`, 'error');
      if (state.meta) statusSel.value = state.meta.status;
    }
  });
  state.on('meta', () => {
    statusSel.value = state.meta.status;
    statusSel.dataset.status = state.meta.status;
  });
  return statusSel;
}

/** Undo / redo, No finding, status, Save and the save state, kept in step with the document. */
function documentTools(state, actions) {
  const canEdit = state.canEdit;
  const undoBtn = button('undo', 'Undo', 'Undo (Ctrl+Z)', () => state.undo());
  const redoBtn = button('redo', 'Redo', 'Redo (Ctrl+Shift+Z)', () => state.redo());
  const saveBtn = h('button', { type: 'button', id: 'save', class: 'primary', title: 'Save (Ctrl+S)', disabled: !canEdit, onclick: () => actions.save() }, 'Save');
  const saveState = h('span', { id: 'save-state', class: 'muted small' });
  const noFinding = h('input', { type: 'checkbox', id: 'no-finding', disabled: !canEdit, title: 'No finding (0)' });
  noFinding.addEventListener('change', () => state.setNoFinding(noFinding.checked));
  return {
    nodes: [
      canEdit ? h('span', { class: 'group' }, undoBtn, redoBtn) : null,
      h('label', { class: 'nofinding', title: 'No finding (0)' }, noFinding, ' No finding'),
      statusPicker(state, actions), saveBtn, saveState,
    ],
    showSaving() {
      saveState.textContent = 'saving…';
    },
    refresh() {
      const doc = state.doc;
      noFinding.checked = doc.noFinding;
      undoBtn.disabled = !doc.undoStack.length;
      redoBtn.disabled = !doc.redoStack.length;
      const dirty = doc.isDirty();
      saveBtn.disabled = !canEdit || !dirty;
      saveState.textContent = dirty ? 'unsaved changes' : doc.version !== null ? `saved · version ${doc.version}` : '';
      saveState.classList.toggle('dirty', dirty);
    },
  };
}

/**
 * The toolbar of `state`'s image over `viewer`. `actions`: save(),
 * setStatus(status) (a promise), statusChanged(), toggleHelp().
 * `refresh()` follows the document (the page calls it on every change).
 */
export function createToolbar(state, viewer, actions) {
  const title = imageTitle(state.imageId);
  const view = viewTools(state, viewer);
  const docTools = documentTools(state, actions);
  const el = h('div', { class: 'editor-toolbar' },
    ...title.nodes, ...view.nodes,
    h('span', { class: 'spacer' }),
    ...docTools.nodes,
    button('help-btn', '?', 'Keyboard shortcuts (?)', () => actions.toggleHelp()));
  return {
    el,
    showImage: title.show,
    applyPreset: view.applyPreset,
    showCamera: view.showCamera,
    showSaving: docTools.showSaving,
    refresh: docTools.refresh,
  };
}
