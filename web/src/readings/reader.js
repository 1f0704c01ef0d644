// One reader's blind reading of an image: draw boxes with a label, save
// (If-Match on the reading's version), submit. Other readers' boxes and the
// image's annotations stay hidden until the reading is submitted.
import { api, get, ApiError } from '../api.js';
import { h, toast } from '../dom.js';
import { boxCanvas } from './boxcanvas.js';

export async function renderReading(app, imageId) {
  let image, reading, labels;
  try {
    [image, reading, labels] = await Promise.all([
      get(`/images/${imageId}`), get(`/images/${imageId}/readings/me`), get('/labels').then((l) => l.labels),
    ]);
  } catch (e) {
    app.append(h('div', { class: 'error-banner', role: 'alert' }, e.message));
    return () => {};
  }
  const byId = new Map(labels.map((l) => [l.id, l]));
  let boxes = reading.boxes.map((b) => ({ ...b }));
  let version = reading.version;
  let submitted = reading.status === 'submitted';
  const labelSel = h('select', { id: 'reading-label' },
    ...labels.filter((l) => !l.retired).map((l) => h('option', { value: l.id }, `${l.id + 1} ${l.name}`)));
  const list = h('ul', { class: 'boxes', id: 'reading-boxes' });
  const state = h('span', { id: 'reading-state', class: 'muted small' });
  const saveBtn = h('button', { type: 'button', id: 'reading-save', class: 'primary', onclick: () => save() }, 'Save');
  const submitBtn = h('button', { type: 'button', id: 'reading-submit', onclick: () => submit() }, 'Submit reading');
  const canvas = boxCanvas(image, {
    id: 'reading-canvas',
    onDraw: (bbox) => {
      if (submitted) return;
      boxes.push({ class_id: Number(labelSel.value), bbox });
      refresh(true);
    },
  });

  function refresh(dirty) {
    canvas.setBoxes(boxes.map((b, i) => ({ bbox: b.bbox, color: byId.get(b.class_id)?.color, label: `${i + 1} ${byId.get(b.class_id)?.name || b.class_id}` })));
    list.replaceChildren(...boxes.map((b, i) => h('li', {},
      h('span', { class: 'swatch', style: { background: byId.get(b.class_id)?.color || '#888' } }),
      ` ${i + 1}. ${byId.get(b.class_id)?.name || b.class_id} `,
      h('span', { class: 'muted small' }, b.bbox.map((v) => Math.round(v)).join(', ')),
      submitted ? null : h('button', { type: 'button', class: 'small', onclick: () => { boxes.splice(i, 1); refresh(true); } }, '✕'))));
    saveBtn.disabled = submitted;
    submitBtn.disabled = submitted;
    labelSel.disabled = submitted;
    state.textContent = submitted ? 'submitted — frozen' : dirty ? 'unsaved changes' : `version ${version}`;
  }

  async function save() {
    try {
      const { data } = await api('PUT', `/images/${imageId}/readings/me`, { body: { boxes }, headers: { 'If-Match': `"${version}"` } });
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
    if (!(await save())) return;
    try {
      await api('POST', `/images/${imageId}/readings/me/submit`);
      submitted = true;
      refresh(false);
      toast('Reading submitted');
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  app.append(h('section', { class: 'page reading' },
    h('div', { class: 'editor-toolbar' }, h('a', { href: '#/readings' }, '‹ My readings'),
      h('span', { class: 'title' }, `Blind reading · image ${imageId}`), labelSel, saveBtn, submitBtn, state,
      submitted ? h('a', { href: `#/review/${imageId}`, id: 'see-all' }, 'See all readers') : null),
    h('p', { class: 'muted small' }, 'Drag on the image to draw a box with the chosen label.'),
    h('div', { class: 'reading-main' }, canvas.el, h('aside', { class: 'side' }, h('h3', {}, 'My boxes'), list))));
  refresh(false);
  return () => {};
}
