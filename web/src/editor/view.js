// The image page: Cornerstone viewer + box editor, label picker, "No
// finding", undo/redo, save with If-Match and conflict handling, history
// panel, help overlay, keyboard shortcuts and the worklist (Next /
// Previous through the library's filter, accept-all + done + next).
// The keyboard belongs to the image: a click on it or Escape in any control
// of the page hands the keys back from that control.
import { api, get, ApiError } from '../api.js';
import { h, toast, fmtTime } from '../dom.js';
import { session, setLeaveGuard, navigate } from '../app.js';
import { AnnotationDoc, isModelBox } from './model.js';
import { BoxOverlay } from './overlay.js';
import { Viewer, PRESETS, ensureInit, prefetchImage } from './viewport.js';
import { openWorklist, libraryFilter, prefetchData, takePrefetched } from './worklist.js';
import { shortcutHelp } from './shortcuts.js';
import { createReview, historyCredit } from './review.js';
import { mountReportPanel } from '../reports/panel.js';
import { burnedInBadge } from '../burned.js';

const STATUS_NAMES = { new: 'new', in_review: 'in review', done: 'done' };
const fileUrl = (id) => `/api/v1/images/${encodeURIComponent(id)}/file`;

// The labels change rarely: one request serves the images of a worklist run.
let labelsCache = null;
function getLabels() {
  if (!labelsCache || Date.now() - labelsCache.at > 60_000) {
    labelsCache = { at: Date.now(), data: get('/labels') };
    labelsCache.data.catch(() => {
      labelsCache = null;
    });
  }
  return labelsCache.data;
}


/** Initialises Cornerstone ahead of the first image (the library calls it when idle). */
export function warmUp() {
  return ensureInit();
}

/**
 * The image page. `known` is the image object when the router has fetched it
 * already (its blind-reader check), so it is not asked for twice.
 */
export async function renderEditor(app, imageId, known = null) {
  const idPath = `/images/${encodeURIComponent(imageId)}`;
  const canEdit = session.user.role === 'admin' || session.user.role === 'radiologist';

  const vpEl = h('div', { class: 'viewport', id: 'viewport', tabindex: '-1' });
  const errorBanner = h('div', { class: 'error-banner', id: 'image-error', role: 'alert', hidden: true });
  const loading = h('div', { class: 'loading', id: 'image-loading' }, 'Loading image…');
  const conflict = h('div', { class: 'conflict-banner', id: 'conflict', role: 'alert', hidden: true });
  const wlDisplay = h('span', { id: 'wl-display', class: 'wl' }, 'W – / L –');
  const zoomDisplay = h('span', { id: 'zoom-display', class: 'muted small' });
  const saveState = h('span', { id: 'save-state', class: 'muted small' });
  const title = h('span', { class: 'title', id: 'image-title' }, `image ${imageId}`);
  const back = h('a', { href: '#/images' + (libraryFilter() ? '?' + libraryFilter() : ''), id: 'back' }, '‹ Library');
  const wlPos = h('span', { id: 'worklist-pos', class: 'small' }, '…');
  const wlProgress = h('span', { id: 'worklist-progress', class: 'muted small' });
  const prevBtn = h('button', { type: 'button', id: 'worklist-prev', class: 'small', title: 'Previous image of the list ([ or Shift+N); saves first', disabled: true, onclick: () => goTo(-1) }, '‹ Prev');
  const nextBtn = h('button', { type: 'button', id: 'worklist-next', class: 'small', title: 'Next image of the list (] or N); saves first', disabled: true, onclick: () => goTo(1) }, 'Next ›');
  const doneNextBtn = h('button', { type: 'button', id: 'worklist-done-next', class: 'small primary', title: 'Accept the proposals shown, save, mark done, next image (Shift+Enter)', disabled: !canEdit, onclick: () => acceptDoneNext() }, 'Accept shown · done · next');
  const burnedIn = h('span', { id: 'burned-in' });
  const labelList = h('ol', { class: 'labels', id: 'label-list' });
  const boxList = h('ul', { class: 'boxes', id: 'box-list' });
  const reviewSlot = h('div', { id: 'review-slot' });
  const historyList = h('ol', { class: 'history', id: 'history-list' }, h('li', { class: 'muted' }, 'Loading…'));
  const helpOverlay = h('div', { class: 'help-overlay', id: 'help', hidden: true });
  const noFinding = h('input', { type: 'checkbox', id: 'no-finding', disabled: !canEdit, title: 'No finding (0)' });
  const presetSel = h('select', { id: 'preset', title: 'Window presets (Shift+1…5)' },
    ...PRESETS.map((p) => h('option', { value: p.id }, p.name)));
  const statusSel = h('select', { id: 'image-status', disabled: !canEdit },
    ...Object.entries(STATUS_NAMES).map(([v, n]) => h('option', { value: v }, n)));

  const modeButtons = {};
  const modeBtn = (mode, text, key) => {
    modeButtons[mode] = h('button', { type: 'button', class: 'mode', id: `mode-${mode}`, title: `${text} (${key})`, onclick: () => setMode(mode) }, text);
    return modeButtons[mode];
  };
  const btn = (id, text, title, fn) => h('button', { type: 'button', id, title, onclick: fn }, text);
  const saveBtn = h('button', { type: 'button', id: 'save', class: 'primary', title: 'Save (Ctrl+S)', disabled: !canEdit, onclick: () => save() }, 'Save');
  const undoBtn = btn('undo', 'Undo', 'Undo (Ctrl+Z)', () => undo());
  const redoBtn = btn('redo', 'Redo', 'Redo (Ctrl+Shift+Z)', () => redo());

  app.append(
    h('section', { class: 'editor' },
      h('div', { class: 'editor-toolbar' },
        back, title, burnedIn,
        h('span', { class: 'group' }, canEdit ? modeBtn('box', 'Box', 'B') : null, modeBtn('wl', 'W/L', 'W'), modeBtn('pan', 'Pan', 'P')),
        h('span', { class: 'group' }, presetSel, btn('invert', 'Invert', 'Invert (I)', () => viewer.invert()),
          btn('fit', 'Fit', 'Fit to window (F)', () => viewer.fit()), btn('one-to-one', '1:1', 'One image pixel per screen pixel (O)', () => viewer.oneToOne())),
        wlDisplay, zoomDisplay,
        h('span', { class: 'spacer' }),
        canEdit ? h('span', { class: 'group' }, undoBtn, redoBtn) : null,
        h('label', { class: 'nofinding', title: 'No finding (0)' }, noFinding, ' No finding'),
        statusSel, saveBtn, saveState,
        btn('help-btn', '?', 'Keyboard shortcuts (?)', () => toggleHelp())),
      conflict,
      h('div', { class: 'editor-main' },
        h('div', { class: 'viewport-wrap' }, vpEl, loading, errorBanner),
        h('aside', { class: 'side', id: 'editor-side' },
          h('div', { class: 'worklist', id: 'worklist' },
            h('div', { class: 'worklist-row' }, prevBtn, wlPos, nextBtn),
            h('div', { class: 'worklist-row' }, wlProgress),
            canEdit ? h('div', { class: 'worklist-row' }, doneNextBtn) : null),
          h('h3', {}, 'Model suggestions'), reviewSlot,
          h('h3', {}, 'Label ', h('span', { class: 'muted small' }, '(keys 1–9)')), labelList,
          h('h3', {}, 'Boxes'), boxList,
          h('h3', {}, 'History'), historyList)),
      helpOverlay),
  );
  mountReportPanel(app.querySelector('#editor-side'), imageId);

  let labels = new Map();
  let activeLabels = [];
  let currentClass = null;
  let mode = canEdit ? 'box' : 'wl';
  let meta = null;
  let destroyed = false;

  const showError = (msg) => {
    loading.hidden = true;
    errorBanner.textContent = `The image could not be shown: ${msg}`;
    errorBanner.hidden = false;
  };

  const viewer = new Viewer(vpEl, { onError: showError, onChange: () => refreshView() });
  let doc = new AnnotationDoc(1, 1);
  let overlay = null;
  let review = null;
  const shown = (b) => !review || review.visible(b);

  function refreshView() {
    if (destroyed || !viewer.viewport) return;
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
    if (overlay) overlay.render();
  }

  function refreshDoc() {
    if (overlay) overlay.render();
    noFinding.checked = doc.noFinding;
    undoBtn.disabled = !doc.undoStack.length;
    redoBtn.disabled = !doc.redoStack.length;
    const dirty = doc.isDirty();
    saveBtn.disabled = !canEdit || !dirty;
    saveState.textContent = dirty ? 'unsaved changes' : doc.version !== null ? `saved · version ${doc.version}` : '';
    saveState.classList.toggle('dirty', dirty);
    if (review) review.refresh();
    boxList.replaceChildren(...doc.boxes.filter(shown).map((b) => {
      const label = labels.get(b.class_id);
      const src = isModelBox(b) ? `${b.source.model || 'model'} ${b.source.version || ''} · ${typeof b.score === 'number' ? b.score.toFixed(2) : ''}` : (b.source && b.source.user) || session.user.username;
      return h('li', {
        class: `box-item${b.key === doc.selected ? ' selected' : ''}${isModelBox(b) ? ' model' : ''}`,
        dataset: { key: String(b.key), classId: String(b.class_id), bbox: JSON.stringify(b.bbox), status: b.status },
        onclick: () => { doc.selected = b.key; refreshDoc(); },
      },
      h('span', { class: 'swatch', style: { background: (label && label.color) || '#fc0' } }),
      h('span', { class: 'box-name' }, label ? label.name : `class ${b.class_id}`),
      h('span', { class: 'muted small' }, ` ${b.status} · ${src} · [${b.bbox.map((v) => Math.round(v)).join(', ')}]`),
      isModelBox(b) && canEdit ? h('span', { class: 'box-actions' },
        h('button', { type: 'button', class: 'small accept-btn', title: 'Accept (A)', onclick: (e) => { e.stopPropagation(); decide(b.key, 'accepted'); } }, '✓'),
        h('button', { type: 'button', class: 'small reject-btn', title: 'Reject (X)', onclick: (e) => { e.stopPropagation(); decide(b.key, 'rejected'); } }, '✗')) : null);
    }));
    if (!doc.boxes.length) boxList.append(h('li', { class: 'muted' }, canEdit ? 'No boxes. Drag on the image to draw one.' : 'No boxes.'));
    for (const li of labelList.children) li.classList.toggle('active', Number(li.dataset.classId) === currentClass);
  }

  // Accepting a proposal a person moved keeps it `edited` (the server keeps the model's original).
  function decide(key, status) {
    const b = doc.find(key);
    if (!canEdit || !b || !isModelBox(b)) return;
    const moved = b.original_bbox || b.status === 'edited';
    doc.setStatus(key, status === 'accepted' && moved ? 'edited' : status);
    doc.selected = key;
    refreshDoc();
  }

  function setMode(m) {
    if (m === 'box' && !canEdit) return;
    mode = m;
    for (const [k, b] of Object.entries(modeButtons)) b.classList.toggle('active', k === m);
    if (viewer.viewport) viewer.setLeftTool(m === 'box' ? null : m);
    vpEl.dataset.mode = m;
  }

  function setLabel(classId) {
    currentClass = classId;
    if (canEdit && doc.selected !== null) doc.setClass(doc.selected, classId);
    refreshDoc();
  }

  function undo() {
    if (doc.undo()) refreshDoc();
  }
  function redo() {
    if (doc.redo()) refreshDoc();
  }

  function toggleHelp(force) {
    helpOverlay.hidden = force === undefined ? !helpOverlay.hidden : !force;
  }

  async function loadHistory() {
    try {
      const data = await get(`${idPath}/history`);
      const entries = (data.entries || []).slice().reverse();
      historyList.replaceChildren(...entries.map((e) => {
        const nb = (s) => (s && Array.isArray(s.boxes) ? s.boxes.length : 0);
        const [ver, ...rest] = historyCredit(e).split(' · ');
        return h('li', { class: `history-entry history-${e.action}` },
          h('strong', {}, ver), ` ${rest.join(' · ')} `,
          h('span', { class: 'muted small' }, `${fmtTime(e.at)} · ${nb(e.before)} → ${nb(e.after)} boxes${e.after && e.after.no_finding ? ' · no finding' : ''}`));
      }));
      if (!entries.length) historyList.append(h('li', { class: 'muted' }, 'No changes yet.'));
    } catch (e) {
      historyList.replaceChildren(h('li', { class: 'form-error' }, `History unavailable: ${e.message}`));
    }
  }

  async function reloadAnnotations() {
    const state = await get(`${idPath}/annotations`);
    doc.load(state);
    conflict.hidden = true;
    refreshDoc();
  }

  function showConflict(err) {
    conflict.replaceChildren(
      h('strong', {}, 'Save conflict: '),
      `someone else saved this image's annotations after you opened it (${err.message}). Your changes were NOT saved. `,
      h('button', { type: 'button', id: 'conflict-reload', class: 'primary', onclick: async () => {
        try {
          await reloadAnnotations();
          loadHistory();
          toast('Loaded the latest annotations; your unsaved changes were discarded.');
        } catch (e) {
          toast(e.message, 'error');
        }
      } }, 'Reload latest (discard mine)'),
      ' ',
      h('button', { type: 'button', id: 'conflict-dismiss', onclick: () => { conflict.hidden = true; } }, 'Keep editing'));
    conflict.hidden = false;
  }

  let saving = false;
  /** Saves; resolves true when the annotations on the server are this document. */
  async function save() {
    if (!canEdit || saving) return false;
    saving = true;
    let ok = false;
    saveState.textContent = 'saving…';
    try {
      const { data } = await api('PUT', `${idPath}/annotations`, {
        body: doc.putBody(),
        headers: { 'If-Match': `"${doc.version}"` },
      });
      // The answer is the new state; should it ever be shorter, read it back.
      const state = data && Array.isArray(data.boxes) ? data : await get(`${idPath}/annotations`);
      // Keep the selection on the same box (local keys are new after a load).
      const sel = doc.find(doc.selected);
      doc.load(state);
      const same = sel && doc.boxes.find((b) => b.class_id === sel.class_id && b.bbox.every((v, i) => v === sel.bbox[i]));
      doc.selected = same ? same.key : null;
      conflict.hidden = true;
      toast('Saved');
      ok = true;
      loadHistory();
      // The first save moves a new image to in_review: show what the server says.
      refreshMeta();
    } catch (e) {
      if (e instanceof ApiError && (e.status === 409 || e.status === 412)) showConflict(e);
      else toast(`Save failed: ${e.message}`, 'error');
    } finally {
      saving = false;
      refreshDoc();
    }
    return ok;
  }

  async function refreshMeta() {
    try {
      const m = await get(idPath);
      if (destroyed) return;
      meta = m;
      statusSel.value = meta.status;
      statusSel.dataset.status = meta.status;
    } catch {
      // Kept as it was; the next save or reload tries again.
    }
  }

  async function setStatus(status) {
    const { data } = await api('PATCH', idPath, { body: { status } });
    meta = data || { ...meta, status };
    statusSel.value = meta.status;
    statusSel.dataset.status = meta.status;
  }

  // The worklist (library filter) around this image.
  let worklist = null;
  let moving = false;
  async function setupWorklist() {
    try {
      worklist = await openWorklist(imageId);
    } catch (e) {
      wlPos.textContent = 'no list';
      wlPos.title = e.message;
      return;
    }
    if (destroyed) return;
    const n = worklist.ids.length;
    wlPos.textContent = worklist.index >= 0 ? `${worklist.index + 1} / ${n}` : `– / ${n}`;
    wlPos.title = worklist.query ? `images of the library filter ${decodeURIComponent(worklist.query)}` : 'all images';
    prevBtn.disabled = !worklist.previous();
    nextBtn.disabled = !worklist.next();
    showProgress();
  }

  async function showProgress() {
    if (!worklist) return;
    try {
      const p = await worklist.progress();
      if (destroyed) return;
      wlProgress.textContent = `${p.done} of ${p.total} reviewed`;
      wlProgress.dataset.done = String(p.done);
      wlProgress.dataset.total = String(p.total);
    } catch {
      wlProgress.textContent = '';
    }
  }

  // Prefetch the next image (pixels decoded into Cornerstone's cache, its metadata and boxes).
  function prefetchNext() {
    const id = worklist && worklist.next();
    if (!id || destroyed) return;
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
      if (canEdit && doc.isDirty() && !(await save())) return false;
      if (destroyed) return false;
      navigate(`#/images/${encodeURIComponent(id)}`);
      return true;
    } finally {
      moving = false;
    }
  }

  /** Shift+Enter: accept the proposals shown, save, mark the image done, go to the next one. */
  async function acceptDoneNext() {
    if (!canEdit || moving || saving) return;
    moving = true;
    try {
      if (review) review.acceptAll({ quiet: true });
      refreshDoc();
      if (doc.isDirty() && !(await save())) return;
      if (meta && meta.status !== 'done') await setStatus('done');
    } catch (e) {
      toast(`Could not mark the image done: ${e.message}`, 'error');
      return;
    } finally {
      moving = false;
    }
    if (destroyed) return;
    if (worklist && worklist.next()) goTo(1);
    else {
      showProgress();
      toast('Done. That was the last image of the list.');
    }
  }

  function focusImage() {
    vpEl.focus({ preventScroll: true });
  }

  function onKey(e) {
    // A dialog (Sign, Submit) has the keyboard while it is open.
    if (document.querySelector('dialog[open]')) return;
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) {
      // Escape in any control hands the keyboard back to the image (and
      // deselects, as Escape on the image does).
      if (e.key === 'Escape') {
        t.blur();
        focusImage();
        doc.selected = null;
        refreshDoc();
        e.preventDefault();
      }
      return;
    }
    const ctrl = e.ctrlKey || e.metaKey;
    const k = e.key;
    let handled = true;
    if (ctrl && (k === 'z' || k === 'Z') && !e.shiftKey) undo();
    else if (ctrl && (((k === 'z' || k === 'Z') && e.shiftKey) || k === 'y')) redo();
    else if (ctrl && (k === 's' || k === 'S')) save();
    else if (ctrl || e.altKey) handled = false;
    else if ((k === 'A' || k === 'a') && e.shiftKey && review) review.acceptAll();
    else if ((k === 'a' || k === 'A') && doc.selected !== null) decide(doc.selected, 'accepted');
    else if ((k === 'x' || k === 'X') && doc.selected !== null) decide(doc.selected, 'rejected');
    else if ((k === 'm' || k === 'M') && review) review.run();
    else if (k === '{' && review) review.nudge(-0.05);
    else if (k === '}' && review) review.nudge(0.05);
    else if (k === ']' || (k === 'n' && !e.shiftKey)) goTo(1);
    else if (k === '[' || (k === 'N' && e.shiftKey)) goTo(-1);
    else if (k === 'Enter' && e.shiftKey) acceptDoneNext();
    else if (e.shiftKey && /^Digit[1-5]$/.test(e.code)) {
      const p = PRESETS.find((x) => x.key === e.code);
      presetSel.value = p.id;
      viewer.applyPreset(p.id);
    } else if (/^[1-9]$/.test(k)) {
      const l = activeLabels[Number(k) - 1];
      if (l) setLabel(l.id);
    } else if (k === 'Delete' || k === 'Backspace') {
      if (canEdit && doc.selected !== null && doc.remove(doc.selected)) refreshDoc();
    } else if (k === 'Escape') {
      if (!helpOverlay.hidden) toggleHelp(false);
      else doc.selected = null;
      refreshDoc();
      focusImage();
    } else if (k === 'Tab') {
      // Tab stays on the image (it would walk the focus into the side panel).
      const list = doc.boxes.filter(shown);
      const i = list.findIndex((b) => b.key === doc.selected);
      const n = list.length;
      if (n) doc.selected = list[(i + (e.shiftKey ? n - 1 : 1) + n) % n].key;
      refreshDoc();
    } else if (k.startsWith('Arrow') && doc.selected !== null && canEdit) {
      const step = e.shiftKey ? 10 : 1;
      const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[k];
      const b = doc.find(doc.selected);
      if (b) {
        const [x0, y0, x1, y1] = b.bbox;
        const dx = Math.min(doc.width - x1, Math.max(-x0, d[0]));
        const dy = Math.min(doc.height - y1, Math.max(-y0, d[1]));
        doc.setBBox(b.key, [x0 + dx, y0 + dy, x1 + dx, y1 + dy]);
        refreshDoc();
      }
    } else if (k === 'b' || k === 'B') setMode('box');
    else if (k === 'w' || k === 'W') setMode('wl');
    else if (k === 'p' || k === 'P') setMode('pan');
    else if (k === 'i' || k === 'I') viewer.invert();
    else if (k === 'f' || k === 'F') viewer.fit();
    else if (k === 'o' || k === 'O') viewer.oneToOne();
    else if (k === '+' || k === '=') viewer.zoomBy(1.25);
    else if (k === '-') viewer.zoomBy(0.8);
    else if (k === 'r' || k === 'R') {
      presetSel.value = 'default';
      viewer.applyPreset('default');
    } else if (k === '0' && canEdit) {
      doc.setNoFinding(!doc.noFinding);
      refreshDoc();
    } else if (k === '?') toggleHelp();
    else handled = false;
    if (handled) e.preventDefault();
  }

  function beforeUnload(e) {
    if (doc.isDirty()) {
      e.preventDefault();
      e.returnValue = '';
    }
  }

  // Wire up controls.
  presetSel.addEventListener('change', () => viewer.applyPreset(presetSel.value));
  noFinding.addEventListener('change', () => {
    doc.setNoFinding(noFinding.checked);
    refreshDoc();
  });
  statusSel.addEventListener('change', async () => {
    try {
      await setStatus(statusSel.value);
      toast(`Status: ${STATUS_NAMES[statusSel.value]}`);
      showProgress();
    } catch (e) {
      toast(`Could not change status: ${e.message}`, 'error');
      if (meta) statusSel.value = meta.status;
    }
  });
  document.addEventListener('keydown', onKey);
  // A press on the image takes the keyboard back from whatever control had
  // it (the box layer cancels the press's default, which would do it).
  vpEl.addEventListener('mousedown', focusImage, true);
  // A slider or box moved with the mouse gives the keys back when released.
  app.querySelector('#editor-side').addEventListener('pointerup', (e) => {
    if (e.target && e.target.type === 'range') setTimeout(focusImage, 0);
  });
  window.addEventListener('beforeunload', beforeUnload);
  setLeaveGuard(() => !doc.isDirty() || confirm('This image has unsaved changes. Leave without saving them?'));
  helpOverlay.append(shortcutHelp(() => toggleHelp(false)));
  helpOverlay.addEventListener('click', (e) => {
    if (e.target === helpOverlay) toggleHelp(false);
  });

  const cleanup = () => {
    destroyed = true;
    document.removeEventListener('keydown', onKey);
    window.removeEventListener('beforeunload', beforeUnload);
    if (overlay) overlay.destroy();
    if (review) review.destroy();
    viewer.destroy();
  };

  try {
    const pre = takePrefetched(imageId);
    const metaNow = pre ? pre.meta : known ? Promise.resolve(known) : get(idPath);
    const [m, labelData, state] = await Promise.all([metaNow, getLabels(), pre ? pre.state : get(`${idPath}/annotations`)]);
    meta = m;
    title.textContent = meta.display_name || meta.original_filename || `image ${imageId}`;
    title.title = `${meta.width}×${meta.height} · ${meta.format} · ${meta.bits_stored || '?'} bit · ${meta.photometric || ''}`;
    const badge = burnedInBadge(meta);
    if (badge) burnedIn.append(badge);
    statusSel.value = meta.status;
    statusSel.dataset.status = meta.status;
    labels = new Map(labelData.labels.map((l) => [l.id, l]));
    activeLabels = labelData.labels.filter((l) => !l.retired).sort((a, b) => a.id - b.id);
    currentClass = activeLabels.length ? activeLabels[0].id : null;
    labelList.replaceChildren(...activeLabels.map((l, i) => h('li', {
      class: 'label-item', dataset: { classId: String(l.id) }, onclick: () => setLabel(l.id),
    }, h('kbd', {}, i < 9 ? String(i + 1) : ''), h('span', { class: 'swatch', style: { background: l.color } }), ` ${l.name}`)));
    doc = new AnnotationDoc(meta.width, meta.height);
    doc.load(state);
    review = createReview({
      user: session.user.username,
      doc: () => doc,
      idPath,
      meta,
      canEdit,
      onChange: () => refreshDoc(),
      onProposals: () => {
        refreshDoc();
        loadHistory();
      },
    });
    reviewSlot.replaceChildren(review.panel);
    review.start();
  } catch (e) {
    showError(e.message);
    refreshDoc();
    return cleanup;
  }
  loadHistory();
  const worklistReady = setupWorklist();

  try {
    await viewer.open(fileUrl(imageId));
  } catch (e) {
    if (!destroyed) showError(e && e.message ? e.message : String(e));
    refreshDoc();
    return cleanup;
  }
  if (destroyed) return cleanup;
  const sz = viewer.size();
  if (sz && (sz.width !== meta.width || sz.height !== meta.height)) {
    showError(`the file is ${sz.width}×${sz.height} but the library says ${meta.width}×${meta.height}`);
  }
  loading.hidden = true;
  vpEl.dataset.imageId = String(imageId);
  // When the image was on screen (performance.now(); the worklist test's benchmark reads it).
  vpEl.dataset.shownAt = String(performance.now());
  vpEl.dataset.ready = 'true';
  overlay = new BoxOverlay(vpEl, viewer, doc, {
    labels: () => labels,
    currentClass: () => currentClass,
    canEdit: () => canEdit,
    enabled: () => mode === 'box',
    visible: shown,
    onChange: () => refreshDoc(),
  });
  setMode(mode);
  refreshDoc();
  refreshView();
  focusImage();
  worklistReady.then(() => prefetchNext());
  return cleanup;
}
