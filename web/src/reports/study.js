// A study's report, from the study (issue 15): on a study row and in the
// library of one study, the state of the study's newest report (a link that
// opens it) or "Start report", which drafts one report over all of the
// study's images (POST /reports with their ids) and opens it in the report
// panel of the editor of its first image.
import { api, get } from '../api.js';
import { h, toast } from '../dom.js';
import { session, navigate } from '../app.js';

/** The newest version of a report on study `pseudonym`, or null. */
async function latestReport(pseudonym) {
  const p = new URLSearchParams({ q: pseudonym, limit: '50' });
  const { reports } = await get('/reports?' + p);
  return (reports || []).find((r) => r.study_pseudonym === pseudonym) || null;
}

/** Where a report is edited: the report panel of its first image. */
export function reportHash(report) {
  return `#/images/${encodeURIComponent(report.image_ids[0])}`;
}

/** The ids of the images of study `pseudonym` (GET /studies). */
async function studyImageIds(pseudonym) {
  const { studies } = await get('/studies?' + new URLSearchParams({ q: pseudonym, per_page: '200' }));
  const study = (studies || []).find((s) => s.study_pseudonym === pseudonym);
  if (!study) throw new Error('this study is no longer in the library');
  return study.image_ids;
}

/**
 * The report control of `study` ({study_pseudonym, image_ids?, blind?}):
 * nothing for a blind reader (the findings are others' work).
 */
export function studyReportControl(study) {
  const el = h('span', { class: 'study-report', dataset: { study: study.study_pseudonym } });
  if (study.blind) return el;
  const canWrite = session.user.role === 'admin' || session.user.role === 'radiologist';
  const start = async (button) => {
    button.disabled = true;
    try {
      const ids = study.image_ids || (await studyImageIds(study.study_pseudonym));
      const { data } = await api('POST', '/reports', { body: { image_ids: ids } });
      toast(`Report draft #${data.id} started over ${data.image_ids.length} image(s)`);
      navigate(reportHash(data));
    } catch (e) {
      toast(e.message, 'error');
      button.disabled = false;
    }
  };
  const show = (report) => {
    if (report) {
      el.replaceChildren(h('a', {
        href: reportHash(report), class: `badge report-state status-${report.status}`,
        title: `Report #${report.id} v${report.version} over ${report.image_ids.length} image(s)`,
      }, `report ${report.status}`));
    } else if (canWrite) {
      const button = h('button', { type: 'button', class: 'small start-report', onclick: () => start(button) }, 'Start report');
      el.replaceChildren(button);
    } else {
      el.replaceChildren(h('span', { class: 'small muted' }, 'no report'));
    }
  };
  latestReport(study.study_pseudonym).then(show).catch(() => show(null));
  return el;
}
