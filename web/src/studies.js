// The library by study (#/studies): one row per DICOM study (GET /studies),
// with the study's images side by side (a PA and its lateral together), its
// rolled-up status, its report's state or "Start report" (reports/study.js),
// and a link that opens the study: the library filtered to its images
// (#/images?study=…).
import { get } from './api.js';
import { h } from './dom.js';
import { navigate } from './app.js';
import { imageName } from './names.js';
import { studyReportControl } from './reports/study.js';

const PER_PAGE = 20;
const STATUS_NAMES = { new: 'new', in_review: 'in review', done: 'done' };

function studiesHash({ q = '', page = 1 }) {
  const p = new URLSearchParams();
  if (q) p.set('q', q);
  if (page > 1) p.set('page', String(page));
  const s = p.toString();
  return '#/studies' + (s ? '?' + s : '');
}

/** The library of one study: every image of it. */
export function studyHash(studyPseudonym) {
  return '#/images?study=' + encodeURIComponent(studyPseudonym);
}

/** One image of a study: its thumbnail and view (PA, LL, …). */
function studyImage(img) {
  // A blind reader reads the image in their reading view, not the editor.
  const open = img.blind ? `#/readings/${encodeURIComponent(img.id)}` : `#/images/${encodeURIComponent(img.id)}`;
  return h('a', { href: open, class: 'study-image', dataset: { id: String(img.id) }, title: imageName(img) },
    h('img', { src: `/api/v1/images/${encodeURIComponent(img.id)}/thumbnail`, alt: '', loading: 'lazy' }),
    h('span', { class: 'small view' }, img.view_position || img.modality || ''));
}

/** A study's row; its images fill in when their metadata arrives. */
function studyRow(study) {
  const images = h('div', { class: 'study-images' },
    ...study.image_ids.map((id) => studyImage({ id })));
  const shortPatient = (study.patient_pseudonym || '').replace(/^P-/, '').slice(0, 4).toUpperCase();
  const status = study.blind
    ? h('span', { class: 'badge blind-badge', title: 'You read one of its images blind: its status is others\' work' }, 'blind reading')
    : h('span', { class: `status status-${study.status}` }, STATUS_NAMES[study.status] || study.status);
  const row = h('article', { class: 'study-row', dataset: { study: study.study_pseudonym } },
    h('div', { class: 'study-head' },
      h('a', { href: studyHash(study.study_pseudonym), class: 'name study-open', title: study.study_pseudonym },
        `P-${shortPatient} · study …${study.study_pseudonym.slice(-6)}`),
      status,
      h('span', { class: 'small' }, `${study.image_ids.length} image(s) · ${study.modalities.join(', ') || '—'}`),
      typeof study.study_date_offset === 'number' ? h('span', { class: 'small muted' }, `day ${study.study_date_offset}`) : null,
      studyReportControl(study)),
    images);
  // The views (PA, lateral) come with the images' metadata.
  get(`/images?study=${encodeURIComponent(study.study_pseudonym)}&per_page=50`).then((data) => {
    const byId = new Map((data.images || []).map((i) => [i.id, i]));
    images.replaceChildren(...study.image_ids.map((id) => studyImage(byId.get(id) || { id })));
  }).catch(() => {});
  return row;
}

export function renderStudies(app, params) {
  const q = params.get('q') || '';
  const page = Math.max(1, parseInt(params.get('page') || '1', 10) || 1);
  const list = h('div', { class: 'study-list', id: 'study-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const pager = h('nav', { class: 'pager', id: 'study-pager' });
  const search = h('input', { type: 'search', id: 'study-search', placeholder: 'Search pseudonym, label…', value: q });
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); navigate(studiesHash({ q: search.value.trim() })); } },
    search, h('button', { type: 'submit' }, 'Search'),
    h('a', { href: '#/images', class: 'small' }, 'all images'));
  app.append(h('section', { class: 'library studies' }, h('div', { class: 'toolbar' }, form), list, pager));

  const p = new URLSearchParams({ page: String(page), per_page: String(PER_PAGE) });
  if (q) p.set('q', q);
  get('/studies?' + p).then((data) => {
    const studies = data.studies || [];
    list.replaceChildren(...(studies.length ? studies.map(studyRow) : [h('p', { class: 'muted' }, 'No DICOM studies yet.')]));
    const pages = Math.max(1, Math.ceil((data.total || 0) / PER_PAGE));
    pager.replaceChildren(
      h('a', { href: studiesHash({ q, page: page - 1 }), class: page > 1 ? '' : 'disabled' }, '‹ previous'),
      ` page ${page} of ${pages} · ${data.total || 0} stud${data.total === 1 ? 'y' : 'ies'} `,
      h('a', { href: studiesHash({ q, page: page + 1 }), class: page < pages ? '' : 'disabled' }, 'next ›'));
  }).catch((e) => {
    list.replaceChildren(h('p', { class: 'form-error' }, `Could not list studies: ${e.message}`));
  });
}
