// The report panel of the open image: the image's latest report version
// (findings with location, size, source and confidence; impression), save
// draft, sign, amend, and the HTML / PDF / FHIR outputs. Findings are taken
// from the saved annotations when the draft is made or saved.
import { api, get } from '../api.js';
import { h, toast, fmtTime } from '../dom.js';
import { session } from '../app.js';
import { confirmDialog } from '../dialog.js';
import { imageNameById } from '../names.js';

function foundBy(f) {
  const s = f.found_by;
  switch (s.kind) {
    case 'model': return `model ${s.model} v${s.version}`;
    case 'radiologist': return s.user;
    case 'both': return `model ${s.model} + ${s.user}`;
    case 'consensus': return `consensus (${s.readers.join(', ')})`;
    default: return s.kind;
  }
}

const size = (f) => (f.size_mm ? `${f.size_mm[0].toFixed(0)} × ${f.size_mm[1].toFixed(0)} mm` : '—');

/** The findings table, or what stands in for an empty one. */
function findingsBlock(report) {
  if (!report.findings.length) {
    return h('p', { class: 'muted small', id: 'report-findings' }, report.no_finding ? 'No finding.' : 'No reviewed boxes.');
  }
  const rows = report.findings.map((f, i) => h('tr', {},
    h('td', {}, String(i + 1)), h('td', {}, f.class_name), h('td', {}, f.location), h('td', { class: 'nowrap' }, size(f)),
    h('td', {}, foundBy(f)), h('td', {}, f.confidence === null ? '—' : f.confidence.toFixed(2))));
  return h('div', { class: 'table-scroll' }, h('table', { class: 'grid findings', id: 'report-findings' },
    h('thead', {}, h('tr', {}, ...['#', 'Finding', 'Location', 'Size', 'Found by', 'Conf.'].map((t) => h('th', {}, t)))), h('tbody', {}, ...rows)));
}

/** A report over several images (a study's) names each, linking to it. */
function reportImages(report) {
  if (report.image_ids.length < 2) return null;
  const links = report.image_ids.map((id) => {
    const a = h('a', { href: `#/images/${encodeURIComponent(id)}`, dataset: { id: String(id) } }, `image ${id}`);
    imageNameById(get, id).then((n) => { a.textContent = n; });
    return a;
  });
  return h('p', { class: 'small', id: 'report-images' }, `Over ${links.length} images: `,
    ...links.flatMap((a, i) => (i ? [', ', a] : [a])));
}

function reportLinks(report) {
  return h('div', { class: 'report-links' },
    h('a', { href: report.links.html, target: '_blank', rel: 'noopener', id: 'report-html' }, 'View HTML'), ' · ',
    h('a', { href: report.links.pdf, download: `carina-report-${report.id}.pdf`, id: 'report-pdf' }, 'Download PDF'), ' · ',
    h('a', { href: report.links.fhir, target: '_blank', rel: 'noopener', id: 'report-fhir' }, 'FHIR'),
    // A signed report is also a DICOM SR (GET /reports/{id}/sr; a draft is a 409).
    report.status === 'draft' ? null : [' · ', h('a', { href: `/api/v1/reports/${report.id}/sr`, download: `carina-report-${report.id}-sr.dcm`, id: 'report-sr' }, 'DICOM SR')]);
}

/**
 * Sign: saves the impression (refreshing the findings), then signs after a
 * confirmation naming what becomes frozen. Resolves to the report to show
 * and whether it was signed.
 */
async function signReport(report, impression) {
  const { data: patched } = await api('PATCH', `/reports/${report.id}`, { body: { impression, refresh_findings: true } });
  const fresh = patched && Array.isArray(patched.findings) ? patched : report;
  // Signing is irreversible: say what becomes frozen (the findings as the saved boxes give them now).
  const n = fresh.findings.length;
  const ok = await confirmDialog({
    id: 'sign-dialog',
    title: `Sign report #${fresh.id} v${fresh.version}?`,
    body: [
      h('p', {}, `Signing freezes this version: the impression (${(fresh.impression || '').trim() ? `${fresh.impression.trim().length} characters` : 'empty'}) and `,
        n ? `${n} finding(s): ${fresh.findings.map((f) => f.class_name).join(', ')}` : (fresh.no_finding ? '"No finding"' : 'no findings'),
        `, signed by ${session.user.username}.`),
      h('p', { class: 'muted small' }, 'A signed report cannot be edited; a change later is a new amended version, and this one is kept.'),
    ],
    confirmLabel: 'Sign and freeze',
  });
  if (!ok) return { report: fresh, signed: false };
  const { data } = await api('POST', `/reports/${report.id}/sign`);
  return { report: data, signed: true };
}

/**
 * Save draft and Sign (a draft, for its author or an admin), Amend (a signed
 * version, for its signer or an admin). `act(fn)` runs a step, showing its
 * error; `show(report)` shows the answer.
 */
function reportButtons(report, impression, { canEdit, canAmend, act, show }) {
  const draft = report.status === 'draft';
  return h('div', { class: 'row' },
    draft && canEdit ? h('button', { type: 'button', id: 'report-save', onclick: () => act(async () => {
      const { data } = await api('PATCH', `/reports/${report.id}`, { body: { impression: impression.value, refresh_findings: true } });
      show(data);
      toast('Draft saved');
    }) }, 'Save draft') : null,
    draft && canEdit ? h('button', { type: 'button', id: 'report-sign', class: 'primary', onclick: () => act(async () => {
      const done = await signReport(report, impression.value);
      show(done.report);
      if (done.signed) toast('Report signed');
    }) }, 'Sign') : null,
    !draft && report.status !== 'superseded' && canAmend ? h('button', { type: 'button', id: 'report-amend', onclick: () => act(async () => {
      const { data } = await api('POST', `/reports/${report.id}/amend`);
      show(data);
      toast(`Amendment v${data.version} started; the signed version is kept`);
    }) }, 'Amend') : null);
}

/** Mounts the panel into `container` and returns it. */
export function mountReportPanel(container, imageId) {
  const canWrite = session.user.role === 'admin' || session.user.role === 'radiologist';
  const panel = h('div', { class: 'report-panel', id: 'report-panel' });
  container.append(h('h3', {}, 'Report'), panel);
  let report = null;

  const act = async (fn) => {
    try {
      await fn();
    } catch (e) {
      toast(e.message, 'error');
    }
  };
  const show = (r) => {
    report = r;
    render();
  };

  async function load() {
    const { reports } = await get(`/reports?image_id=${encodeURIComponent(imageId)}`);
    // Newest first: the latest version the image has.
    show(reports[0] || null);
  }

  function render() {
    panel.replaceChildren();
    if (!report) {
      panel.append(h('p', { class: 'muted small' }, 'No report yet.'),
        canWrite ? h('button', { type: 'button', id: 'report-new', onclick: () => act(async () => {
          const { data } = await api('POST', `/images/${imageId}/reports`, { body: {} });
          show(data);
          toast('Report draft created from the saved boxes');
        }) }, 'New report draft') : null);
      return;
    }
    const draft = report.status === 'draft';
    // Ownership (docs/http-api.md): a draft is edited and signed by its author,
    // or by an admin (who then takes it over); an amendment is started by the
    // signer or an admin. Others see no buttons the server would refuse.
    const me = session.user.username;
    const isAdmin = session.user.role === 'admin';
    const canEdit = canWrite && (report.author === me || isAdmin);
    const canAmend = canWrite && (report.signed_by === me || isAdmin);
    const owner = draft && canWrite && !canEdit
      ? h('p', { class: 'muted small', id: 'report-owner' }, `Draft by ${report.author}: only the author or an admin edits and signs it.`)
      : null;
    const impression = h('textarea', { id: 'report-impression', rows: 4, disabled: !draft || !canEdit, placeholder: 'Impression…' });
    impression.value = report.impression;
    panel.append(
      h('div', { class: 'small' }, h('span', { id: 'report-status', class: `badge status-${report.status}` }, report.status),
        ` #${report.id} v${report.version}`, report.signed_by ? ` · signed by ${report.signed_by}, ${fmtTime(report.signed_at)}` : ''),
      reportImages(report),
      h('p', { class: 'muted small' }, report.disclaimer),
      findingsBlock(report),
      impression,
      owner,
      reportButtons(report, impression, { canEdit, canAmend, act, show }),
      reportLinks(report));
  }

  load().catch((e) => {
    panel.replaceChildren(h('p', { class: 'muted small' }, e.message));
  });
  return { reload: () => load() };
}
