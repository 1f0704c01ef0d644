// Model suggestions in the editor: the score-threshold slider (remembered per
// user through /me/preferences), "Run model", the predict job's status
// (polled until it is done or failed, then the new proposals are merged into
// the document), and "accept all shown". Proposals below the threshold are
// hidden, not changed: they stay `proposed` on the server. Of those at or
// above it at most PROPOSAL_CAP (the best scores) are drawn unless the
// reader asks for all, so a low threshold remembered from one image does
// not bury the next under dozens of labels; the panel says how many more
// there are.
import { api, get } from '../api.js';
import { h, toast } from '../dom.js';
import { isModelBox } from './model.js';

const POLL_MS = 250;
/** How many pending proposals are drawn at most until "Show all". */
export const PROPOSAL_CAP = 10;

/** Whether `box` is a proposal the threshold hides. */
export function hiddenByThreshold(box, threshold) {
  return isModelBox(box) && box.status === 'proposed' && typeof box.score === 'number' && box.score < threshold;
}

/** Model boxes still `proposed` and at or above the threshold. */
export function visibleProposals(doc, threshold) {
  return doc.boxes.filter((b) => isModelBox(b) && b.status === 'proposed' && !hiddenByThreshold(b, threshold));
}

/** "v3 · proposals by <model> v<version>, asked by <user>" for a predict entry. */
export function historyCredit(e) {
  if (e.action !== 'predict') return `v${e.version} · ${e.action} by ${e.user}`;
  const before = new Set(((e.before && e.before.boxes) || []).map((b) => b.id));
  const boxes = ((e.after && e.after.boxes) || []).filter((b) => b.source && b.source.kind === 'model');
  const src = (boxes.find((b) => !before.has(b.id)) || boxes[0] || {}).source;
  const v = (x) => (/^v/i.test(String(x)) ? String(x) : `v${x}`);
  const who = src ? `${src.model}${src.version ? ' ' + v(src.version) : ''}` : 'the deployed model';
  return `v${e.version} · proposals by ${who}, asked by ${e.user}`;
}

/**
 * Keys of the pending proposals drawn under the cap: the `cap` best scores
 * at or above the threshold; null when every one of them is drawn.
 */
export function cappedProposalKeys(doc, threshold, cap = PROPOSAL_CAP) {
  const list = visibleProposals(doc, threshold);
  if (list.length <= cap) return null;
  list.sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
  return new Set(list.slice(0, cap).map((b) => b.key));
}

// The reader's threshold, once read, serves the next images of the session
// without a request (and without a moment under the default).
let remembered = { user: null, value: null };

/**
 * The panel's elements. `act`: run(), acceptAll(), toggleShowAll(),
 * setThreshold(t) (the slider moved).
 */
function reviewPanel(opts, act) {
  const slider = h('input', { type: 'range', id: 'proposal-threshold', min: '0', max: '1', step: '0.01', value: String(act.threshold) });
  const value = h('span', { id: 'proposal-threshold-value', class: 'small' });
  const count = h('span', { id: 'proposal-count', class: 'muted small' });
  const status = h('span', { id: 'job-status', class: 'badge job-status' });
  const modelInfo = h('div', { id: 'model-info', class: 'muted small' });
  const runBtn = h('button', { type: 'button', id: 'run-model', title: 'Run the deployed model on this image (M)', disabled: !opts.canEdit, onclick: () => act.run() }, 'Run model');
  const acceptAllBtn = h('button', { type: 'button', id: 'accept-all', title: 'Accept every proposal drawn on the image (Shift+A)', disabled: !opts.canEdit, onclick: () => act.acceptAll() }, 'Accept all shown');
  const more = h('div', { id: 'proposals-more', class: 'muted small' });
  const showAllBtn = h('button', { type: 'button', id: 'show-all-proposals', class: 'small', onclick: () => act.toggleShowAll() });
  const panel = h('div', { class: 'review-panel', id: 'review-panel' },
    h('div', {}, runBtn, ' ', status),
    modelInfo,
    h('label', { class: 'threshold' }, 'Show proposals ≥ ', value, h('br'), slider),
    h('div', {}, count),
    h('div', {}, more, ' ', showAllBtn),
    h('div', {}, acceptAllBtn));
  slider.addEventListener('input', () => act.setThreshold(Number(slider.value)));

  return {
    panel,
    showJob(job) {
      const s = job ? job.status : 'none';
      status.textContent = job ? `model: ${s}` : 'model: not run';
      status.dataset.status = s;
      status.title = job && job.last_error ? job.last_error : '';
      status.className = `badge job-status job-${s}`;
    },
    jobUnread(message) {
      status.title = message;
    },
    /** The threshold and the counts of pending proposals: drawn, at or above it (visible), below it (hidden). */
    showCounts({ threshold, drawn, visible, hidden, showAll }) {
      value.textContent = threshold.toFixed(2);
      slider.value = String(threshold);
      const notShown = visible - drawn;
      count.textContent = `${drawn} pending proposal(s) shown`;
      // data-visible: pending proposals at or above the threshold; data-drawn: those on the image.
      count.dataset.visible = String(visible);
      count.dataset.drawn = String(drawn);
      count.dataset.hidden = String(hidden);
      count.dataset.notShown = String(notShown);
      const parts = [];
      if (notShown) parts.push(`${notShown} more not shown (top ${PROPOSAL_CAP} by score)`);
      if (hidden) parts.push(`${hidden} more below threshold`);
      more.textContent = parts.join(' · ');
      showAllBtn.hidden = !(notShown || (showAll && visible > PROPOSAL_CAP));
      showAllBtn.textContent = showAll ? `Show top ${PROPOSAL_CAP} only` : `Show all ${visible}`;
      acceptAllBtn.disabled = !opts.canEdit || drawn === 0;
    },
    /** The deployed model (null: none, and Run model is off); `undefined`: unknown. */
    showModel(deployed) {
      if (deployed === undefined) {
        modelInfo.textContent = '';
        return;
      }
      modelInfo.replaceChildren(deployed
        ? h('span', {}, `deployed: ${deployed.name} ${deployed.version}`, deployed.synthetic ? h('span', { class: 'badge synthetic', id: 'model-synthetic' }, 'synthetic data · not for clinical use') : null)
        : 'no model deployed');
      if (!deployed) runBtn.disabled = true;
    },
  };
}

/**
 * New proposals arrive as a new annotation version. Without local edits
 * reload; with them, add the new boxes and adopt the version so the next
 * save does not conflict with the model's own change.
 */
async function mergeProposals(opts) {
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

/** The deployed model (null when none), or undefined when the list could not be read. */
async function deployedModel() {
  try {
    const models = (await get('/models')).models || [];
    return models.find((m) => m.deployed) || null;
  } catch {
    return undefined;
  }
}

/**
 * Which boxes are drawn: not proposals below the threshold, and of those at
 * or above it the PROPOSAL_CAP best unless `showAll()`. The capped set is
 * recomputed only when the boxes, threshold or "show all" change.
 */
function proposalFilter(doc, threshold, showAll) {
  let cache = { doc: null, set: null };
  function capped() {
    const d = doc();
    if (showAll()) return null;
    if (cache.doc !== d || cache.rev !== d.rev || cache.threshold !== threshold()) {
      cache = { doc: d, rev: d.rev, threshold: threshold(), set: cappedProposalKeys(d, threshold()) };
    }
    return cache.set;
  }
  return (box) => {
    if (hiddenByThreshold(box, threshold())) return false;
    if (!isModelBox(box) || box.status !== 'proposed') return true;
    const set = capped();
    return !set || set.has(box.key);
  };
}

/**
 * The image's predict job: `run()` starts one, `follow()` polls one under
 * way until it is done (its proposals merged into the document) or failed.
 * `refresh()` shows it (`current()`).
 */
function modelJob(opts, ui, refresh) {
  let job = opts.meta.prediction_job_id ? { id: opts.meta.prediction_job_id, status: opts.meta.prediction_status } : null;
  let timer = null;
  let destroyed = false;

  async function poll() {
    timer = null;
    if (destroyed || !job) return;
    try {
      job = await get(`/jobs/${job.id}`);
    } catch (e) {
      ui.jobUnread(e.message);
    }
    refresh();
    if (job.status === 'done') {
      await mergeProposals(opts);
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

  return {
    current: () => job,
    run,
    follow() {
      if (job && (job.status === 'queued' || job.status === 'running')) poll();
      else refresh();
    },
    destroy() {
      destroyed = true;
      clearTimeout(timer);
    },
  };
}

/**
 * @param {{user: string, doc: () => import('./model.js').AnnotationDoc, idPath: string, meta: object,
 *          canEdit: boolean, onChange: () => void, onProposals: () => void}} opts
 */
export function createReview(opts) {
  const known = remembered.user === opts.user && remembered.value !== null;
  let threshold = known ? remembered.value : 0.3;
  let saveTimer = null;
  let destroyed = false;
  let showAll = false;
  const isShown = proposalFilter(opts.doc, () => threshold, () => showAll);

  const ui = reviewPanel(opts, {
    threshold,
    run: () => job.run(),
    acceptAll: () => acceptAll(),
    toggleShowAll() {
      showAll = !showAll;
      refresh();
      opts.onChange();
    },
    setThreshold: (t) => setThreshold(t),
  });
  const job = modelJob(opts, ui, () => refresh());

  function refresh() {
    const doc = opts.doc();
    const above = visibleProposals(doc, threshold);
    const hidden = doc.boxes.filter((b) => hiddenByThreshold(b, threshold)).length;
    ui.showCounts({ threshold, drawn: above.filter(isShown).length, visible: above.length, hidden, showAll });
    ui.showJob(job.current());
  }

  function setThreshold(t, persist = true) {
    threshold = Math.min(1, Math.max(0, Math.round(t * 100) / 100));
    remembered = { user: opts.user, value: threshold };
    refresh();
    opts.onChange();
    if (!persist) return;
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      api('PUT', '/me/preferences', { body: { proposal_threshold: threshold } }).catch((e) => toast(`Could not remember the threshold: ${e.message}`, 'error'));
    }, 300);
  }

  /** Accepts every pending proposal drawn on the image; returns how many. */
  function acceptAll({ quiet = false } = {}) {
    const doc = opts.doc();
    const keys = visibleProposals(doc, threshold).filter(isShown).map((b) => b.key);
    if (!keys.length) return 0;
    doc.change(() => {
      for (const k of keys) doc.find(k).status = 'accepted';
    });
    if (!quiet) toast(`Accepted ${keys.length} proposal(s); save to keep them`);
    opts.onChange();
    return keys.length;
  }

  async function start() {
    if (!known) {
      try {
        const p = await get('/me/preferences');
        if (destroyed) return;
        setThreshold(p.proposal_threshold, false);
      } catch {
        refresh();
      }
    }
    // The threshold in force is the reader's own from here on.
    ui.panel.dataset.ready = 'true';
    refresh();
    ui.showModel(await deployedModel());
    job.follow();
  }

  return {
    panel: ui.panel,
    start,
    refresh,
    run: () => job.run(),
    acceptAll,
    threshold: () => threshold,
    nudge: (d) => setThreshold(threshold + d),
    visible: isShown,
    destroy() {
      destroyed = true;
      job.destroy();
      clearTimeout(saveTimer);
    },
  };
}
