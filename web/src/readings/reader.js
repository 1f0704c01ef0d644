// One reader's blind reading of an image: the editor's Cornerstone viewport
// (zoom, window/level, pan) with the reader's own boxes, a label, save
// (If-Match on the reading's version), submit (after a confirmation naming
// what will be frozen). Other readers' boxes and the image's annotations stay
// hidden until the reading is submitted; then "See all readers" appears.
import { api, get, ApiError } from '../api.js';
import { h, toast } from '../dom.js';
import { setLeaveGuard } from '../app.js';
import { imageName } from '../names.js';
import { ReadingViewport } from './viewport.js';

const typing = (el) => el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT');

/** The W/L and zoom read-outs; `show(viewer)` follows the camera. */
function cameraReadout() {
  const wlDisplay = h('span', { id: 'reading-wl', class: 'wl' }, 'W – / L –');
  const zoomDisplay = h('span', { id: 'reading-zoom', class: 'muted small' });
  return {
    nodes: [wlDisplay, zoomDisplay],
    show(viewer) {
      const wl = viewer.windowLevel();
      if (wl) wlDisplay.textContent = `W ${Math.round(wl.width)} / L ${Math.round(wl.center)}`;
      try {
        zoomDisplay.textContent = `zoom ${viewer.viewport.getZoom().toFixed(2)}×`;
        zoomDisplay.dataset.zoom = String(viewer.viewport.getZoom());
      } catch {
        zoomDisplay.textContent = '';
      }
    },
  };
}

/** The list items of the reader's boxes; `remove(i)` deletes one (not once submitted). */
function boxItems(boxes, byId, submitted, remove) {
  const nameOf = (b) => byId.get(b.class_id)?.name || `class ${b.class_id}`;
  if (!boxes.length) return [h('li', { class: 'muted small' }, submitted ? 'No boxes (no finding).' : 'No boxes yet.')];
  return boxes.map((b, i) => h('li', { class: 'box-item' },
    h('span', { class: 'swatch', style: { background: byId.get(b.class_id)?.color || '#888' } }),
    ` ${i + 1}. ${nameOf(b)} `,
    h('span', { class: 'muted small' }, b.bbox.map((v) => Math.round(v)).join(', ')),
    submitted ? null : h('button', { type: 'button', class: 'small', title: 'Delete this box', onclick: () => remove(i) }, '✕')));
}

/**
 * The reading's keys: Ctrl+S saves; B, W, P tools; F fits; 1–9 the label of
 * new boxes. `r`: {submitted(), dirty(), save(), setMode(m), fit(), active, labelSel}.
 */
function readingKeys(r) {
  return (e) => {
    if (typing(document.activeElement) || e.altKey || e.metaKey) return;
    if (e.ctrlKey) {
      if (e.key === 's' || e.key === 'S') {
        e.preventDefault();
        if (!r.submitted() && r.dirty()) r.save();
      }
      return;
    }
    const k = e.key.toLowerCase();
    if (k === 'b') r.setMode('box');
    else if (k === 'w') r.setMode('wl');
    else if (k === 'p') r.setMode('pan');
    else if (k === 'f') r.fit();
    else if (/^[1-9]$/.test(e.key) && r.active[Number(e.key) - 1] && !r.submitted()) r.labelSel.value = String(r.active[Number(e.key) - 1].id);
    else return;
    e.preventDefault();
  };
}

/** The viewport with its loading note and error banner. */
function readingStage() {
  const vpEl = h('div', { class: 'viewport', id: 'reading-viewport', tabindex: '-1' });
  const loading = h('div', { class: 'loading', id: 'reading-loading' }, 'Loading image…');
  const errorBanner = h('div', { class: 'error-banner', role: 'alert', hidden: true });
  return {
    el: h('div', { class: 'viewport-wrap' }, vpEl, loading, errorBanner),
    vpEl,
    loading,
    showError(msg) {
      loading.hidden = true;
      errorBanner.textContent = `The image could not be shown: ${msg}`;
      errorBanner.hidden = false;
    },
  };
}

/** The page: toolbar (tools, fit, read-outs, label, save, submit, state), the viewport, the side panel with the reader's boxes. */
function readingPage({ image, modeBtn, fit, camera, labelSel, controls, stage, list }) {
  return h('section', { class: 'editor reading' },
    h('div', { class: 'editor-toolbar' }, h('a', { href: '#/readings' }, '‹ My readings'),
      h('span', { class: 'title', id: 'reading-title', title: imageName(image) }, `Blind reading · ${imageName(image)}`),
      h('span', { class: 'group' }, modeBtn('box', 'Box', 'B'), modeBtn('wl', 'W/L', 'W'), modeBtn('pan', 'Pan', 'P')),
      h('button', { type: 'button', id: 'reading-fit', title: 'Fit to window (F)', onclick: fit }, 'Fit'),
      ...camera.nodes, labelSel,
      h('span', { class: 'spacer' }),
      ...controls),
    h('div', { class: 'editor-main' },
      stage.el,
      h('aside', { class: 'side' },
        h('p', { class: 'muted small' }, 'Blind reading: you see only your own boxes until you submit. Drag on the image to draw a box (Box mode); right-drag: window/level; wheel: zoom; middle-drag: pan.'),
        h('h3', {}, 'My boxes'), list)));
}

/** The image, the reader's reading and the labels; null (and the reason shown) when they cannot be read. */
async function loadReading(app, imageId) {
  try {
    const [image, reading, labels] = await Promise.all([
      get(`/images/${encodeURIComponent(imageId)}`), get(`/images/${encodeURIComponent(imageId)}/readings/me`), get('/labels').then((l) => l.labels),
    ]);
    return { image, reading, labels };
  } catch (e) {
    app.append(h('div', { class: 'error-banner', role: 'alert', id: 'reading-error' },
      e instanceof ApiError && e.status === 404 ? 'This image is not assigned to you for blind reading.' : e.message));
    return null;
  }
}

export async function renderReading(app, imageId) {
  const loaded = await loadReading(app, imageId);
  if (!loaded) return () => {};
  const { image, reading, labels } = loaded;
  const idPath = `/images/${encodeURIComponent(imageId)}`;
  const byId = new Map(labels.map((l) => [l.id, l]));
  const active = labels.filter((l) => !l.retired).sort((a, b) => a.id - b.id);
  let boxes = reading.boxes.map((b) => ({ ...b }));
  let version = reading.version;
  let submitted = reading.status === 'submitted';
  let dirty = false;
  const labelSel = h('select', { id: 'reading-label', title: 'Label of new boxes (keys 1–9)' },
    ...active.map((l, i) => h('option', { value: l.id }, `${i < 9 ? i + 1 : '·'} ${l.name}`)));
  const list = h('ul', { class: 'boxes', id: 'reading-boxes' });
  const state = h('span', { id: 'reading-state', class: 'muted small' });
  const saveBtn = h('button', { type: 'button', id: 'reading-save', class: 'primary', title: 'Save (Ctrl+S)', onclick: () => save() }, 'Save');
  const submitBtn = h('button', { type: 'button', id: 'reading-submit', onclick: () => submit() }, 'Submit reading');
  const seeAll = h('a', { href: `#/review/${encodeURIComponent(imageId)}`, id: 'see-all', hidden: true }, 'See all readers ›');
  const stage = readingStage();
  const camera = cameraReadout();
  const modeButtons = {};
  const modeBtn = (mode, text, key) => {
    modeButtons[mode] = h('button', { type: 'button', class: 'mode', id: `reading-mode-${mode}`, title: `${text} (${key})`, onclick: () => setMode(mode) }, text);
    return modeButtons[mode];
  };

  const view = new ReadingViewport(stage.vpEl, image, {
    onDraw: (bbox) => {
      if (submitted) return;
      boxes.push({ class_id: Number(labelSel.value), bbox });
      refresh(true);
    },
    onChange: () => camera.show(view.viewer),
    onError: stage.showError,
  });

  function setMode(mode) {
    if (submitted && mode === 'box') mode = 'wl';
    view.setMode(mode);
    for (const [m, b] of Object.entries(modeButtons)) b.classList.toggle('active', m === view.mode);
  }

  function refresh(changed) {
    if (changed !== undefined) dirty = changed;
    view.setBoxes(boxes.map((b, i) => ({ bbox: b.bbox, color: byId.get(b.class_id)?.color, label: `${i + 1} ${byId.get(b.class_id)?.name || `class ${b.class_id}`}` })));
    list.replaceChildren(...boxItems(boxes, byId, submitted, (i) => {
      boxes.splice(i, 1);
      refresh(true);
    }));
    saveBtn.disabled = submitted || !dirty;
    submitBtn.disabled = submitted;
    labelSel.disabled = submitted;
    if (modeButtons.box) modeButtons.box.disabled = submitted;
    seeAll.hidden = !submitted;
    state.textContent = submitted ? 'submitted — frozen' : dirty ? 'unsaved changes' : `saved · version ${version}`;
    state.classList.toggle('dirty', dirty);
  }

  async function save() {
    try {
      const { data } = await api('PUT', `${idPath}/readings/me`, { body: { boxes }, headers: { 'If-Match': `"${version}"` } });
      version = data.version;
      boxes = data.boxes.map((b) => ({ ...b }));
      refresh(false);
      toast('Reading saved');
      return true;
    } catch (e) {
      toast(e instanceof ApiError ? e.message : String(e), 'error');
      return false;
    }
  }

  async function submit() {
    const n = boxes.length;
    const what = n ? `your ${n} box${n === 1 ? '' : 'es'}` : 'your reading with no box (no finding)';
    if (!confirm(`Submit your blind reading of ${imageName(image)}? This freezes ${what}: you cannot change the reading afterwards. You will then see the other readers' boxes.`)) return;
    if (dirty && !(await save())) return;
    try {
      await api('POST', `${idPath}/readings/me/submit`);
      submitted = true;
      setMode('wl');
      refresh(false);
      toast('Reading submitted');
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  app.append(readingPage({ image, modeBtn, fit: () => view.fit(), camera, labelSel, controls: [saveBtn, submitBtn, state, seeAll], stage, list }));
  refresh(false);
  const onKey = readingKeys({ submitted: () => submitted, dirty: () => dirty, save, setMode, fit: () => view.fit(), active, labelSel });
  return showReading({ view, stage, onKey, isDirty: () => dirty, start: () => setMode(submitted ? 'wl' : 'box'), refresh, showCamera: () => camera.show(view.viewer) });
}

/**
 * Listens for keys and leaving, opens the image and, once it is on screen,
 * calls `r.start()`, `r.refresh()`, `r.showCamera()`; resolves to the cleanup.
 */
async function showReading(r) {
  const beforeUnload = (e) => {
    if (r.isDirty()) e.preventDefault();
  };
  document.addEventListener('keydown', r.onKey);
  window.addEventListener('beforeunload', beforeUnload);
  setLeaveGuard(() => !r.isDirty() || confirm('Your reading has unsaved changes. Leave without saving them?'));
  let destroyed = false;
  const cleanup = () => {
    destroyed = true;
    document.removeEventListener('keydown', r.onKey);
    window.removeEventListener('beforeunload', beforeUnload);
    r.view.destroy();
  };
  try {
    await r.view.open();
  } catch (e) {
    r.stage.showError(e && e.message ? e.message : e);
    return cleanup;
  }
  if (destroyed) return cleanup;
  r.stage.loading.hidden = true;
  r.stage.vpEl.dataset.ready = 'true';
  r.start();
  r.refresh();
  r.showCamera();
  r.stage.vpEl.focus();
  return cleanup;
}
