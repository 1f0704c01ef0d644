// The image page: the Cornerstone viewer with its box layer, the toolbar
// (toolbar.js), the side panel (worklist, model suggestions, label picker,
// box list, history, report) and the keyboard (keys.js), all around one
// EditorState (state.js). This module puts them together, loads the image,
// its labels and annotations, and gives the router the cleanup to call when
// the page is left. The keyboard belongs to the image: a click on it or
// Escape in any control of the page hands the keys back from that control.
import { get } from '../api.js';
import { h } from '../dom.js';
import { session, setLeaveGuard } from '../app.js';
import { mountReportPanel } from '../reports/panel.js';
import { EditorState } from './state.js';
import { BoxOverlay } from './overlay.js';
import { Viewer, ensureInit } from './viewport.js';
import { takePrefetched } from './worklist.js';
import { createHelpOverlay } from './shortcuts.js';
import { createReview } from './review.js';
import { createToolbar } from './toolbar.js';
import { createSrTools } from './dicomsr.js';
import { createSaver } from './save.js';
import { createBoxList } from './boxlist.js';
import { createLabelPicker, getLabels } from './labelpicker.js';
import { createHistory } from './history.js';
import { createWorklistPanel, fileUrl } from './worklistpanel.js';
import { keyHandler } from './keys.js';

/** Initialises Cornerstone ahead of the first image (the library calls it when idle). */
export function warmUp() {
  return ensureInit();
}

/** The viewport element with its "Loading image…" note and error banner. */
function imageStage() {
  const vpEl = h('div', { class: 'viewport', id: 'viewport', tabindex: '-1' });
  const errorBanner = h('div', { class: 'error-banner', id: 'image-error', role: 'alert', hidden: true });
  const loading = h('div', { class: 'loading', id: 'image-loading' }, 'Loading image…');
  return {
    el: h('div', { class: 'viewport-wrap' }, vpEl, loading, errorBanner),
    vpEl,
    loading,
    showError(msg) {
      loading.hidden = true;
      errorBanner.textContent = `The image could not be shown: ${msg}`;
      errorBanner.hidden = false;
    },
    focus() {
      vpEl.focus({ preventScroll: true });
    },
  };
}

/** Builds the page's components into `app`; `ui.overlay` (the box layer) comes once the image is shown. */
function buildPage(app, state) {
  const ui = { overlay: null, stage: imageStage() };
  ui.refreshView = () => {
    if (state.destroyed || !ui.viewer.viewport) return;
    ui.toolbar.showCamera();
    if (ui.overlay) ui.overlay.render();
  };
  ui.viewer = new Viewer(ui.stage.vpEl, { onError: ui.stage.showError, onChange: ui.refreshView });
  ui.help = createHelpOverlay();
  ui.history = createHistory(state.idPath);
  ui.saver = createSaver(state, { saving: () => ui.toolbar.showSaving(), saved: () => ui.history.load() });
  ui.worklist = createWorklistPanel(state, ui.saver);
  ui.toolbar = createToolbar(state, ui.viewer, {
    save: () => ui.saver.save(),
    setStatus: (status) => ui.saver.setStatus(status),
    statusChanged: () => ui.worklist.showProgress(),
    toggleHelp: () => ui.help.toggle(),
  });
  ui.srTools = createSrTools(state, { imported: () => ui.history.load() });
  ui.labelPicker = createLabelPicker(state);
  ui.boxList = createBoxList(state);
  ui.reviewSlot = h('div', { id: 'review-slot' });
  app.append(
    h('section', { class: 'editor' },
      ui.toolbar.el,
      ui.saver.conflict,
      h('div', { class: 'editor-main' },
        ui.stage.el,
        h('aside', { class: 'side', id: 'editor-side' },
          ui.worklist.el,
          h('h3', {}, 'Model suggestions'), ui.reviewSlot,
          h('h3', {}, 'Label ', h('span', { class: 'muted small' }, '(keys 1–9)')), ui.labelPicker.el,
          h('h3', {}, 'Boxes'), ui.boxList.el,
          h('h3', {}, 'DICOM SR'), ui.srTools.el,
          h('h3', {}, 'History'), ui.history.el)),
      ui.help.el),
  );
  mountReportPanel(app.querySelector('#editor-side'), state.imageId);
  return ui;
}

/** Redraws the components on the state's changes. */
function follow(state, ui) {
  state.on('doc', () => {
    if (ui.overlay) ui.overlay.render();
    ui.toolbar.refresh();
    if (state.review) state.review.refresh();
    ui.boxList.refresh();
    ui.labelPicker.refresh();
  });
  state.on('mode', () => {
    if (ui.viewer.viewport) ui.viewer.setLeftTool(state.mode === 'box' ? null : state.mode);
    ui.stage.vpEl.dataset.mode = state.mode;
  });
}

/** The page's listeners on the document and window, and the leave guard; returns their removal. */
function listen(app, state, ui) {
  const focusImage = ui.stage.focus;
  const onKey = keyHandler({
    state, viewer: ui.viewer, toolbar: ui.toolbar, help: ui.help, worklist: ui.worklist, save: () => ui.saver.save(), focusImage,
  });
  const beforeUnload = (e) => {
    if (state.doc.isDirty()) {
      e.preventDefault();
      e.returnValue = '';
    }
  };
  document.addEventListener('keydown', onKey);
  // A press on the image takes the keyboard back from whatever control had
  // it (the box layer cancels the press's default, which would do it).
  ui.stage.vpEl.addEventListener('mousedown', focusImage, true);
  // A slider or box moved with the mouse gives the keys back when released.
  app.querySelector('#editor-side').addEventListener('pointerup', (e) => {
    if (e.target && e.target.type === 'range') setTimeout(focusImage, 0);
  });
  window.addEventListener('beforeunload', beforeUnload);
  setLeaveGuard(() => !state.doc.isDirty() || confirm('This image has unsaved changes. Leave without saving them?'));
  return () => {
    document.removeEventListener('keydown', onKey);
    window.removeEventListener('beforeunload', beforeUnload);
  };
}

/**
 * The image object (prefetched by the worklist, `known` from the router, or
 * asked for), the labels and the annotations; then the model suggestions.
 * Resolves false (the error shown) when they could not be read.
 */
async function loadImageData(state, ui, known) {
  const { idPath } = state;
  try {
    const pre = takePrefetched(state.imageId);
    const metaNow = pre ? pre.meta : known ? Promise.resolve(known) : get(idPath);
    const [meta, labelData, annotations] = await Promise.all([metaNow, getLabels(), pre ? pre.state : get(`${idPath}/annotations`)]);
    ui.toolbar.showImage(meta);
    state.setMeta(meta);
    state.setLabels(labelData);
    ui.labelPicker.show();
    state.openDoc(annotations);
    state.review = createReview({
      user: session.user.username,
      doc: () => state.doc,
      idPath,
      meta,
      canEdit: state.canEdit,
      onChange: () => state.changed(),
      onProposals: () => {
        state.changed();
        ui.history.load();
      },
    });
    ui.reviewSlot.replaceChildren(state.review.panel);
    state.review.start();
    return true;
  } catch (e) {
    ui.stage.showError(e.message);
    state.changed();
    return false;
  }
}

/** The image is on screen: its box layer, the tool, the first drawing, the keyboard. */
function showImage(state, ui) {
  const { meta } = state;
  const vpEl = ui.stage.vpEl;
  const sz = ui.viewer.size();
  if (sz && (sz.width !== meta.width || sz.height !== meta.height)) {
    ui.stage.showError(`the file is ${sz.width}×${sz.height} but the library says ${meta.width}×${meta.height}`);
  }
  ui.stage.loading.hidden = true;
  vpEl.dataset.imageId = String(state.imageId);
  // When the image was on screen (performance.now(); the worklist test's benchmark reads it).
  vpEl.dataset.shownAt = String(performance.now());
  vpEl.dataset.ready = 'true';
  ui.overlay = new BoxOverlay(vpEl, ui.viewer, state.doc, {
    labels: () => state.labels,
    currentClass: () => state.currentClass,
    canEdit: () => state.canEdit,
    enabled: () => state.mode === 'box',
    visible: (b) => state.shown(b),
    onChange: () => state.changed(),
  });
  state.setMode(state.mode);
  state.changed();
  ui.refreshView();
  ui.stage.focus();
}

/**
 * The image page. `known` is the image object when the router has fetched it
 * already (its blind-reader check), so it is not asked for twice. Resolves
 * to the cleanup the router calls when the page is left.
 */
export async function renderEditor(app, imageId, known = null) {
  const canEdit = session.user.role === 'admin' || session.user.role === 'radiologist';
  const state = new EditorState(imageId, canEdit);
  const ui = buildPage(app, state);
  follow(state, ui);
  const detach = listen(app, state, ui);
  const cleanup = () => {
    state.destroyed = true;
    detach();
    if (ui.srTools.destroy) ui.srTools.destroy();
    if (ui.overlay) ui.overlay.destroy();
    if (state.review) state.review.destroy();
    ui.viewer.destroy();
  };

  if (!(await loadImageData(state, ui, known))) return cleanup;
  ui.history.load();
  const worklistReady = ui.worklist.setup();
  try {
    await ui.viewer.open(fileUrl(imageId));
  } catch (e) {
    if (!state.destroyed) ui.stage.showError(e && e.message ? e.message : String(e));
    state.changed();
    return cleanup;
  }
  if (state.destroyed) return cleanup;
  showImage(state, ui);
  worklistReady.then(() => ui.worklist.prefetchNext());
  return cleanup;
}
