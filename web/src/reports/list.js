// The Reports page: every report version, searchable, filtered by status.
import { get } from '../api.js';
import { h, toast, fmtTime } from '../dom.js';
import { navigate } from '../app.js';
import { imageNameById } from '../names.js';

/** A link to image `id`, named by its display name once known. */
function imageLink(id) {
  const a = h('a', { href: `#/images/${encodeURIComponent(id)}`, class: 'report-image' }, `image ${id}`);
  imageNameById(get, id).then((n) => {
    a.textContent = n;
  });
  return a;
}

const STATUSES = ['draft', 'signed', 'amended', 'superseded'];

export async function renderReports(app, params) {
  const q = params.get('q') || '';
  const status = params.get('status') || '';
  const search = h('input', { type: 'search', id: 'report-search', placeholder: 'Search impression, findings, signer…', value: q });
  const statusSel = h('select', { id: 'report-status-filter' }, h('option', { value: '' }, 'any status'),
    ...STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)));
  const go = () => {
    const p = new URLSearchParams();
    if (search.value.trim()) p.set('q', search.value.trim());
    if (statusSel.value) p.set('status', statusSel.value);
    navigate('#/reports' + (p.toString() ? '?' + p : ''));
  };
  statusSel.addEventListener('change', go);
  const body = h('tbody', { id: 'report-rows' });
  app.append(h('section', { class: 'page' }, h('h2', {}, 'Reports'),
    h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); go(); } }, search, statusSel, h('button', { type: 'submit' }, 'Search')),
    h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ...['Report', 'Status', 'Images', 'Impression', 'Findings', 'Author', 'Signed', ''].map((t) => h('th', {}, t)))), body)));
  const p = new URLSearchParams();
  if (q) p.set('q', q);
  if (status) p.set('status', status);
  let reports;
  try {
    reports = (await get('/reports' + (p.toString() ? '?' + p : ''))).reports;
  } catch (e) {
    toast(e.message, 'error');
    return () => {};
  }
  if (!reports.length) body.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No report matches.')));
  for (const r of reports) {
    const excerpt = r.impression.length > 90 ? r.impression.slice(0, 90) + '…' : r.impression;
    body.append(h('tr', { class: 'report-row', dataset: { id: r.id } },
      h('td', {}, `#${r.id} v${r.version}`),
      h('td', {}, h('span', { class: `badge status-${r.status}` }, r.status)),
      h('td', { class: 'report-images' }, ...r.image_ids.map(imageLink)),
      h('td', {}, excerpt || h('span', { class: 'muted' }, '—')),
      h('td', {}, String(r.findings.length)),
      h('td', {}, r.author),
      h('td', {}, r.signed_by ? `${r.signed_by}, ${fmtTime(r.signed_at)}` : '—'),
      h('td', { class: 'nowrap' }, h('a', { href: r.links.html, target: '_blank', rel: 'noopener' }, 'HTML'), ' · ',
        h('a', { href: r.links.pdf, download: '' }, 'PDF'), ' · ', h('a', { href: r.links.fhir, target: '_blank', rel: 'noopener' }, 'FHIR'))));
  }
  return () => {};
}
