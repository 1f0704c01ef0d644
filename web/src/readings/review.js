// The reviewer's view: every reader's boxes side by side (one colour per
// reader), all of them on one image, agreement figures, and the Fuse button
// (Weighted Boxes Fusion into the image's annotations, to adjust and sign
// in the editor).
import { api, get } from '../api.js';
import { h, toast, fmtTime } from '../dom.js';
import { boxCanvas, READER_COLORS } from './boxcanvas.js';
import { imageName } from '../names.js';
import { session } from '../app.js';

const fmt = (v, d = 3) => (v === null || v === undefined ? '—' : Number(v).toFixed(d));

export async function renderReview(app, imageId) {
  let image, data, labels;
  try {
    [image, data, labels] = await Promise.all([
      get(`/images/${imageId}`), get(`/images/${imageId}/readings`), get('/labels').then((l) => l.labels),
    ]);
  } catch (e) {
    app.append(h('div', { class: 'error-banner', role: 'alert', id: 'review-error' }, e.message));
    return () => {};
  }
  const names = new Map(labels.map((l) => [l.id, l.name]));
  const colorOf = new Map(data.readings.map((r, i) => [r.reader, READER_COLORS[i % READER_COLORS.length]]));
  const grid = h('div', { class: 'review-grid', id: 'review-grid' });
  const agreementBox = h('div', { class: 'agreement', id: 'agreement' }, 'Loading agreement…');
  const fusedList = h('ul', { class: 'boxes', id: 'fused-boxes' });
  const iou = h('input', { type: 'number', id: 'iou-thr', min: 0, max: 1, step: 0.05, value: 0.6, style: { width: '5em' } });
  const skip = h('input', { type: 'number', id: 'skip-thr', min: 0, max: 1, step: 0.05, value: 0, style: { width: '5em' } });
  const fuseBtn = h('button', { type: 'button', id: 'fuse', class: 'primary', onclick: () => fuse() }, 'Fuse (WBF)');
  const submitted = data.readings.filter((r) => r.status === 'submitted');
  fuseBtn.disabled = submitted.length === 0;
  // A reader who has submitted sees everyone's boxes here; fusing and
  // signing stay with the reviewer (and admins).
  const canFuse = session.user.role === 'admin' || session.user.username === data.reviewer;

  const legend = h('div', { class: 'legend', id: 'reader-legend' }, ...data.readings.map((r) =>
    h('span', { class: 'legend-item' }, h('span', { class: 'swatch', style: { background: colorOf.get(r.reader) } }), ` ${r.reader} (${r.status}, ${r.boxes.length} boxes)`)));

  const boxLabel = (b) => names.get(b.class_id) || `class ${b.class_id}`;
  const all = boxCanvas(image, { id: 'review-all', maxWidth: 520 });
  all.setBoxes(data.readings.flatMap((r) => r.boxes.map((b) => ({ bbox: b.bbox, color: colorOf.get(r.reader), dashed: r.status !== 'submitted' }))));
  grid.append(h('figure', { class: 'reader-panel' }, all.el, h('figcaption', {}, 'All readers')));
  for (const r of data.readings) {
    const c = boxCanvas(image, { maxWidth: 520 });
    c.setBoxes(r.boxes.map((b) => ({ bbox: b.bbox, color: colorOf.get(r.reader), label: boxLabel(b), dashed: r.status !== 'submitted' })));
    grid.append(h('figure', { class: 'reader-panel', dataset: { reader: r.reader } }, c.el,
      h('figcaption', {}, h('span', { class: 'swatch', style: { background: colorOf.get(r.reader) } }), ` ${r.reader} · ${r.status}`,
        r.submitted_at ? h('span', { class: 'muted small' }, ` · ${fmtTime(r.submitted_at)}`) : null)));
  }

  function showFused(consensus) {
    if (!consensus) {
      fusedList.replaceChildren(h('li', { class: 'muted' }, 'Not fused yet.'));
      return;
    }
    fusedList.replaceChildren(...consensus.boxes.map((b) => h('li', {},
      `${boxLabel(b)} · score ${fmt(b.score, 2)} · from ${b.readers.join(', ')}`)));
  }

  async function loadAgreement() {
    try {
      const a = await get(`/images/${imageId}/agreement`);
      const m = a.model_vs_consensus;
      agreementBox.replaceChildren(
        h('div', {}, `Readers (submitted): ${a.readers.join(', ') || '—'}`),
        h('div', { id: 'agreement-kappa' }, a.kappa ? `${a.kappa.method === 'cohen' ? "Cohen's" : "Fleiss'"} kappa over classes: ${fmt(a.kappa.value)}` : 'Kappa: needs two submitted readings'),
        h('div', { id: 'agreement-iou' }, `Mean IoU of matched boxes: ${fmt(a.boxes.mean_iou)} (${a.boxes.matched_pairs} pairs, ${a.boxes.unmatched} unmatched)`),
        h('div', { id: 'agreement-model' }, m ? `Model vs consensus (IoU ≥ ${a.model_iou_thr}): precision ${fmt(m.precision, 2)}, recall ${fmt(m.recall, 2)}, F1 ${fmt(m.f1, 2)}` : 'Model vs consensus: after fusion'),
      );
    } catch (e) {
      agreementBox.textContent = e.message;
    }
  }

  async function fuse() {
    try {
      const { data: res } = await api('POST', `/images/${imageId}/consensus`, { body: { iou_thr: Number(iou.value), skip_box_thr: Number(skip.value) } });
      showFused({ boxes: res.fused });
      toast(`Fused ${res.fused.length} boxes into the annotations`);
      loadAgreement();
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  app.append(h('section', { class: 'page review' },
    h('div', { class: 'editor-toolbar' }, h('a', { href: '#/readings' }, '‹ My readings'),
      h('span', { class: 'title' }, `Review · ${imageName(image)} · reviewer ${data.reviewer}`),
      canFuse ? [h('label', {}, 'IoU thr ', iou), h('label', {}, 'skip thr ', skip), fuseBtn,
        h('a', { href: `#/images/${imageId}`, id: 'open-editor' }, 'Adjust and sign in the editor ›')] : null),
    legend,
    h('div', { class: 'review-main' }, grid,
      h('aside', { class: 'side' }, h('h3', {}, 'Agreement'), agreementBox, h('h3', {}, 'Consensus boxes'), fusedList))));
  showFused(data.consensus);
  loadAgreement();
  return () => {};
}
