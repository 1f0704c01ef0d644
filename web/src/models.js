// The model registry page (#/models): every registered model with its
// metrics from model.json, the synthetic-data label, per-class acceptance
// statistics of its proposals, and (admins) upload, deploy, and fine-tune
// the deployed model on the radiologists' corrections (a background job; the
// new version is registered, not deployed, with its held-out comparison).
import { api, get, ApiError } from './api.js';
import { h, toast, fmtTime } from './dom.js';
import { session } from './app.js';

function pct(v) {
  return typeof v === 'number' ? `${(100 * v).toFixed(0)}%` : '–';
}

function metricsText(m) {
  if (!m || typeof m !== 'object') return '–';
  // carina eval's names (AP, AP50, …) or the trainer's validation record (ap, ap50, …).
  const keys = ['AP', 'AP50', 'AP75', 'AR100', 'mean_auc', 'loss'];
  const value = (k) => (typeof m[k] === 'number' ? m[k] : m[k.toLowerCase()]);
  const shown = keys.filter((k) => typeof value(k) === 'number').map((k) => `${k} ${value(k).toFixed(3)}`);
  return shown.length ? shown.join(' · ') : Object.keys(m).slice(0, 6).join(', ');
}

async function uploadModel(files) {
  const form = new FormData();
  for (const f of files) form.append('file', f, f.name);
  const csrf = await get('/me').then((me) => me.csrf_token);
  const res = await fetch('/api/v1/models', { method: 'POST', body: form, headers: { 'X-CSRF-Token': csrf, Accept: 'application/json' }, credentials: 'same-origin' });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body && body.error && body.error.code, (body && body.error && body.error.message) || `HTTP ${res.status}`);
  return body;
}

/** Admins: "Register a model" (upload a folder written by carina train); `reload()` after it. */
function uploadCard(reload) {
  const fileInput = h('input', { type: 'file', id: 'model-files', multiple: true, accept: '.safetensors,.json,.md' });
  const uploadBtn = h('button', { type: 'button', id: 'model-upload', class: 'primary', onclick: () => upload() }, 'Upload model folder');

  async function upload() {
    const files = [...fileInput.files];
    if (!files.length) return toast('Choose the model files first', 'error');
    uploadBtn.disabled = true;
    try {
      const m = await uploadModel(files);
      toast(`Registered ${m.name} ${m.version}`);
      fileInput.value = '';
      reload();
    } catch (e) {
      toast(`Upload refused: ${e.message}`, 'error');
    } finally {
      uploadBtn.disabled = false;
    }
  }

  return h('div', { class: 'card' },
    h('h3', {}, 'Register a model'),
    h('p', { class: 'muted small' }, 'Choose model.safetensors and model.json (and optionally MODEL_CARD.md) from a folder written by carina train. The server loads the model before registering it; it is not deployed until you deploy it.'),
    fileInput, ' ', uploadBtn);
}

/**
 * Admins: "Learn from corrections": start a fine-tuning job and follow it
 * (`follow(id)`); `reload()` when it has registered a model.
 */
function trainingCard(reload) {
  const trainSteps = h('input', { type: 'number', id: 'train-steps', min: 1, max: 100000, value: 300, class: 'narrow' });
  const trainHeld = h('input', { type: 'number', id: 'train-held-out', min: 0.05, max: 0.5, step: 0.05, value: 0.2, class: 'narrow' });
  const trainBtn = h('button', { type: 'button', id: 'train-start', onclick: () => startTraining() }, 'Fine-tune on corrections');
  const trainStatus = h('div', { id: 'train-status', class: 'small', role: 'status' });
  const el = h('div', { class: 'card' },
    h('h3', {}, 'Learn from corrections'),
    h('p', { class: 'muted small' }, 'Builds a training set from the accepted, edited and manual boxes (consensus where signed), fine-tunes the deployed model in the background, compares it with the deployed one on a held-out part, and registers it without deploying it. Training uses the server\'s CPU for minutes.'),
    h('label', {}, 'Steps ', trainSteps), ' ', h('label', {}, 'Held out ', trainHeld), ' ', trainBtn, trainStatus);
  let polling = null;

  function showJob(job) {
    const held = job.result && job.result.held_out;
    const line = (k, m) => `${k}: AP50 ${m && typeof m.ap50 === 'number' ? m.ap50.toFixed(3) : '–'}, AP ${m && typeof m.ap === 'number' ? m.ap.toFixed(3) : '–'}`;
    trainStatus.dataset.status = job.status;
    if (job.status === 'done') {
      trainStatus.replaceChildren(h('span', {}, `Fine-tuning job ${job.id} done: registered ${job.result.name} ${job.result.version} (not deployed). `),
        h('span', {}, `${job.result.train_images} training / ${job.result.held_out_images} held-out images — ${line('deployed', held && held.base)}; ${line('new', held && held.new)}`));
    } else if (job.status === 'failed') {
      trainStatus.replaceChildren(h('span', { class: 'form-error' }, `Fine-tuning job ${job.id} failed: ${job.last_error || 'unknown error'}`));
    } else {
      trainStatus.replaceChildren(h('span', {}, `Fine-tuning job ${job.id}: ${job.status}…`));
    }
    trainBtn.disabled = job.status === 'queued' || job.status === 'running';
  }

  function follow(id) {
    clearTimeout(polling);
    const tick = async () => {
      if (!document.body.contains(trainStatus)) return;
      try {
        const job = await get(`/jobs/${id}`);
        showJob(job);
        if (job.status === 'done') reload();
        if (job.status === 'queued' || job.status === 'running') polling = setTimeout(tick, 2000);
      } catch (e) {
        trainStatus.textContent = `Could not read the job: ${e.message}`;
        polling = setTimeout(tick, 5000);
      }
    };
    tick();
  }

  async function startTraining() {
    const steps = Number(trainSteps.value);
    const heldOut = Number(trainHeld.value);
    trainBtn.disabled = true;
    try {
      const { data } = await api('POST', '/models/train', { body: { steps, held_out: heldOut } });
      toast(`Fine-tuning queued (job ${data.job.id})`);
      follow(data.job.id);
    } catch (e) {
      trainBtn.disabled = false;
      trainStatus.replaceChildren(h('span', { class: 'form-error' }, e.message));
    }
  }

  return { el, follow };
}

async function deploy(m, reload) {
  if (!confirm(`Deploy ${m.name} ${m.version}? New predictions will use it.`)) return;
  try {
    await api('POST', `/models/${m.id}/deploy`);
    toast(`${m.name} ${m.version} is deployed`);
    reload();
  } catch (e) {
    toast(e.message, 'error');
  }
}

function statsTable(stats) {
  if (!stats.classes.length) return h('p', { class: 'muted small' }, 'No proposals reviewed yet.');
  return h('table', { class: 'stats' },
    h('tr', {}, ...['class', 'proposed', 'accepted', 'edited', 'rejected', 'acceptance'].map((t) => h('th', {}, t))),
    ...stats.classes.map((c) => h('tr', { dataset: { classId: String(c.class_id) } },
      h('td', {}, c.class_name || `class ${c.class_id}`), h('td', {}, c.proposed), h('td', {}, c.accepted),
      h('td', {}, c.edited), h('td', {}, c.rejected), h('td', {}, pct(c.acceptance_rate)))),
    h('tr', { class: 'total' }, h('th', {}, 'all'), h('th', {}, stats.total.proposed), h('th', {}, stats.total.accepted),
      h('th', {}, stats.total.edited), h('th', {}, stats.total.rejected), h('th', {}, pct(stats.total.acceptance_rate))));
}

function heldOutTable(w) {
  const f = (v) => (typeof v === 'number' ? v.toFixed(3) : '–');
  const b = w.held_out && w.held_out.base;
  const n = w.held_out && w.held_out.new;
  return h('div', { class: 'small held-out' },
    h('div', {}, `Fine-tuned from model ${w.base_model.id} (${w.base_model.name} ${w.base_model.version}) on ${w.train_images} reviewed images; compared on ${w.held_out_images} held-out images:`),
    h('table', { class: 'stats' },
      h('tr', {}, ...['', 'AP', 'AP50', 'AP75', 'AR100'].map((t) => h('th', {}, t))),
      ...[['base', b], ['this model', n]].map(([k, m]) => h('tr', {}, h('td', {}, k),
        ...['ap', 'ap50', 'ap75', 'ar100'].map((key) => h('td', {}, f(m && m[key])))))));
}

/** One model's card; admins may deploy one that is not. */
function modelCard(m, stats, isAdmin, reload) {
  return h('article', { class: `card model-card${m.deployed ? ' deployed' : ''}`, dataset: { id: String(m.id) } },
    h('h3', {}, `${m.name} `, h('span', { class: 'muted' }, m.version),
      m.deployed ? h('span', { class: 'badge deployed-badge' }, 'deployed') : null,
      m.synthetic ? h('span', { class: 'badge synthetic' }, 'trained on synthetic data · not for clinical use') : null),
    h('div', { class: 'small' }, `${m.arch} · ${m.num_classes} classes · ${m.input_size}px · source ${m.source} · ${fmtTime(m.created_at)} by ${m.created_by}`),
    h('div', { class: 'small' }, 'Validation: ', metricsText(m.metrics)),
    m.model_json && m.model_json.notice ? h('div', { class: 'muted small' }, m.model_json.notice) : null,
    m.model_json && m.model_json.workbench ? heldOutTable(m.model_json.workbench) : null,
    m.card ? h('details', {}, h('summary', {}, 'Model card'), h('pre', { class: 'small' }, m.card)) : null,
    h('h4', {}, 'Radiologists\' decisions on its proposals'),
    stats ? statsTable(stats) : h('p', { class: 'muted small' }, 'Statistics unavailable.'),
    isAdmin && !m.deployed ? h('button', { type: 'button', class: 'deploy-btn', onclick: () => deploy(m, reload) }, 'Deploy') : null);
}

export function renderModels(app) {
  const isAdmin = session.user.role === 'admin';
  const list = h('div', { id: 'model-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const reload = () => load();
  const uploadForm = isAdmin ? uploadCard(reload) : null;
  const training = isAdmin ? trainingCard(reload) : null;

  async function load() {
    try {
      const models = (await get('/models')).models || [];
      const stats = await Promise.all(models.map((m) => get(`/models/${m.id}/stats`).catch(() => null)));
      list.replaceChildren(...(models.length ? models.map((m, i) => modelCard(m, stats[i], isAdmin, reload)) : [h('p', { class: 'muted' }, 'No models registered.')]));
    } catch (e) {
      list.replaceChildren(h('p', { class: 'form-error' }, `Could not list models: ${e.message}`));
    }
  }

  app.append(h('section', { class: 'models-page' }, h('h2', {}, 'Models'), training && training.el, uploadForm, list));
  load();
  if (isAdmin) {
    // A fine-tuning already under way (or the last one) is shown and followed.
    get('/jobs?kind=train&limit=1').then((r) => {
      const job = (r.jobs || [])[0];
      if (job) training.follow(job.id);
    }).catch(() => {});
  }
}
