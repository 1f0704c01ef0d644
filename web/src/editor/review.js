// Model suggestions in the editor: the score-threshold slider (remembered per
// user through /me/preferences), "Run model", the predict job's status
// (polled until it is done or failed, then the new proposals are merged into
// the document), and "accept all above threshold". Proposals below the
// threshold are hidden, not changed: they stay `proposed` on the server.
import { api, get } from '../api.js';
import { h, toast } from '../dom.js';
import { isModelBox } from './model.js';

const POLL_MS = 250;

/** Whether `box` is a proposal the threshold hides. */
export function hiddenByThreshold(box, threshold) {
  return isModelBox(box) && box.status === 'proposed' && typeof box.score === 'number' && box.score < threshold;
}

/** Model boxes still `proposed` and at or above the threshold. */
export function visibleProposals(doc, threshold) {
  return doc.boxes.filter((b) => isModelBox(b) && b.status === 'proposed' && !hiddenByThreshold(b, threshold));
}

/**
 * @param {{doc: () => import('./model.js').AnnotationDoc, idPath: string, meta: object,
 *          canEdit: boolean, onChange: () => void, onProposals: () => void}} opts
 */
export function createReview(opts) {
  let threshold = 0.3;
  let job = opts.meta.prediction_job_id ? { id: opts.meta.prediction_job_id, status: opts.meta.prediction_status } : null;
  let timer = null;
  let saveTimer = null;
  let destroyed = false;
  let deployed = null;

  const slider = h('input', { type: 'range', id: 'proposal-threshold', min: '0', max: '1', step: '0.01', value: String(threshold) });
  const value = h('span', { id: 'proposal-threshold-value', class: 'small' });
  const count = h('span', { id: 'proposal-count', class: 'muted small' });
  const status = h('span', { id: 'job-status', class: 'badge job-status' });
  const modelInfo = h('div', { id: 'model-info', class: 'muted small' });
  const runBtn = h('button', { type: 'button', id: 'run-model', title: 'Run the deployed model on this image (M)', disabled: !opts.canEdit, onclick: () => run() }, 'Run model');
  const acceptAllBtn = h('button', { type: 'button', id: 'accept-all', title: 'Accept every proposal at or above the threshold (Shift+A)', disabled: !opts.canEdit, onclick: () => acceptAll() }, 'Accept all ≥ threshold');

  const panel = h('div', { class: 'review-panel', id: 'review-panel' },
    h('div', {}, runBtn, ' ', status),
    modelInfo,
    h('label', { class: 'threshold' }, 'Show proposals ≥ ', value, h('br'), slider),
    h('div', {}, count),
    h('div', {}, acceptAllBtn));

  function showJob() {
    const s = job ? job.status : 'none';
    status.textContent = job ? `model: ${s}` : 'model: not run';
    status.dataset.status = s;
    status.title = job && job.last_error ? job.last_error : '';
    status.className = `badge job-status job-${s}`;
  }

  function refresh() {
    value.textContent = threshold.toFixed(2);
    slider.value = String(threshold);
    const doc = opts.doc();
    const visible = visibleProposals(doc, threshold).length;
    const hidden = doc.boxes.filter((b) => hiddenByThreshold(b, threshold)).length;
    count.textContent = `${visible} proposal(s) shown, ${hidden} hidden`;
    count.dataset.visible = String(visible);
    count.dataset.hidden = String(hidden);
    acceptAllBtn.disabled = !opts.canEdit || visible === 0;
    showJob();
  }

  function setThreshold(t, persist = true) {
    threshold = Math.min(1, Math.max(0, Math.round(t * 100) / 100));
    refresh();
    opts.onChange();
    if (!persist) return;
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      api('PUT', '/me/preferences', { body: { proposal_threshold: threshold } }).catch((e) => toast(`Could not remember the threshold: ${e.message}`, 'error'));
    }, 300);
  }
  slider.addEventListener('input', () => setThreshold(Number(slider.value)));

  function acceptAll() {
    const doc = opts.doc();
    const keys = visibleProposals(doc, threshold).map((b) => b.key);
    if (!keys.length) return;
    doc.change(() => {
      for (const k of keys) doc.find(k).status = 'accepted';
    });
    toast(`Accepted ${keys.length} proposal(s); save to keep them`);
    opts.onChange();
  }

  async function merge() {
    // New proposals arrive as a new annotation version. Without local edits
    // reload; with them, add the new boxes and adopt the version so the
    // next save does not conflict with the model's own change.
    const state = await get(`${opts.idPath}/annotations`);
    const doc = opts.doc();
    if (!doc.isDirty()) {
      doc.load(state);
    } else {
      const have = new Set(doc.boxes.filter((b) => b.id != null).map((b) => b.id));
      const fresh = state.boxes.filter((b) => !have.has(b.id));
      doc.adopt(state.version, fresh);
    }
    opts.onProposals();
  }

  async function poll() {
    timer = null;
    if (destroyed || !job) return;
    try {
      job = await get(`/jobs/${job.id}`);
    } catch (e) {
      status.title = e.message;
    }
    refresh();
    if (job.status === 'done') {
      await merge();
      refresh();
      opts.onChange();
    } else if (job.status === 'failed') {
      toast(`The model failed on this image: ${job.last_error || 'unknown error'}`, 'error');
    } else {
      timer = setTimeout(poll, POLL_MS);
    }
  }

  async function run() {
    if (!opts.canEdit) return;
    try {
      const { data } = await api('POST', `${opts.idPath}/predictions`);
      job = data.job;
      refresh();
      if (!timer) poll();
    } catch (e) {
      toast(`Could not run the model: ${e.message}`, 'error');
    }
  }

  async function start() {
    try {
      const p = await get('/me/preferences');
      setThreshold(p.proposal_threshold, false);
    } catch {
      refresh();
    }
    try {
      const models = (await get('/models')).models || [];
      deployed = models.find((m) => m.deployed) || null;
      modelInfo.replaceChildren(deployed
        ? h('span', {}, `deployed: ${deployed.name} ${deployed.version}`, deployed.synthetic ? h('span', { class: 'badge synthetic', id: 'model-synthetic' }, 'synthetic data · not for clinical use') : null)
        : 'no model deployed');
      if (!deployed) runBtn.disabled = true;
    } catch {
      modelInfo.textContent = '';
    }
    if (job && (job.status === 'queued' || job.status === 'running')) poll();
    else refresh();
  }

  return {
    panel,
    start,
    refresh,
    run,
    acceptAll,
    threshold: () => threshold,
    nudge: (d) => setThreshold(threshold + d),
    visible: (box) => !hiddenByThreshold(box, threshold),
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      clearTimeout(saveTimer);
    },
  };
}
