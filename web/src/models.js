// The model registry page (#/models): every registered model with its
// metrics from model.json, the synthetic-data label, per-class acceptance
// statistics of its proposals, and (admins) upload and deploy.
import { api, get, ApiError } from './api.js';
import { h, toast, fmtTime } from './dom.js';
import { session } from './main.js';

function pct(v) {
  return typeof v === 'number' ? `${(100 * v).toFixed(0)}%` : '–';
}

function metricsText(m) {
  if (!m || typeof m !== 'object') return '–';
  const keys = ['AP', 'AP50', 'AP75', 'AR100', 'mean_auc', 'loss'];
  const shown = keys.filter((k) => typeof m[k] === 'number').map((k) => `${k} ${m[k].toFixed(3)}`);
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

export function renderModels(app) {
  const isAdmin = session.user.role === 'admin';
  const list = h('div', { id: 'model-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const fileInput = h('input', { type: 'file', id: 'model-files', multiple: true, accept: '.safetensors,.json,.md' });
  const uploadBtn = h('button', { type: 'button', id: 'model-upload', class: 'primary', onclick: () => upload() }, 'Upload model folder');
  const uploadForm = isAdmin ? h('div', { class: 'card' },
    h('h3', {}, 'Register a model'),
    h('p', { class: 'muted small' }, 'Choose model.safetensors and model.json (and optionally MODEL_CARD.md) from a folder written by carina train. The server loads the model before registering it; it is not deployed until you deploy it.'),
    fileInput, ' ', uploadBtn) : null;

  async function upload() {
    const files = [...fileInput.files];
    if (!files.length) return toast('Choose the model files first', 'error');
    uploadBtn.disabled = true;
    try {
      const m = await uploadModel(files);
      toast(`Registered ${m.name} ${m.version}`);
      fileInput.value = '';
      load();
    } catch (e) {
      toast(`Upload refused: ${e.message}`, 'error');
    } finally {
      uploadBtn.disabled = false;
    }
  }

  async function deploy(m) {
    if (!confirm(`Deploy ${m.name} ${m.version}? New predictions will use it.`)) return;
    try {
      await api('POST', `/models/${m.id}/deploy`);
      toast(`${m.name} ${m.version} is deployed`);
      load();
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

  function row(m, stats) {
    return h('article', { class: `card model-card${m.deployed ? ' deployed' : ''}`, dataset: { id: String(m.id) } },
      h('h3', {}, `${m.name} `, h('span', { class: 'muted' }, m.version),
        m.deployed ? h('span', { class: 'badge deployed-badge' }, 'deployed') : null,
        m.synthetic ? h('span', { class: 'badge synthetic' }, 'trained on synthetic data · not for clinical use') : null),
      h('div', { class: 'small' }, `${m.arch} · ${m.num_classes} classes · ${m.input_size}px · source ${m.source} · ${fmtTime(m.created_at)} by ${m.created_by}`),
      h('div', { class: 'small' }, 'Validation: ', metricsText(m.metrics)),
      m.model_json && m.model_json.notice ? h('div', { class: 'muted small' }, m.model_json.notice) : null,
      m.card ? h('details', {}, h('summary', {}, 'Model card'), h('pre', { class: 'small' }, m.card)) : null,
      h('h4', {}, 'Radiologists\' decisions on its proposals'),
      stats ? statsTable(stats) : h('p', { class: 'muted small' }, 'Statistics unavailable.'),
      isAdmin && !m.deployed ? h('button', { type: 'button', class: 'deploy-btn', onclick: () => deploy(m) }, 'Deploy') : null);
  }

  async function load() {
    try {
      const models = (await get('/models')).models || [];
      const stats = await Promise.all(models.map((m) => get(`/models/${m.id}/stats`).catch(() => null)));
      list.replaceChildren(...(models.length ? models.map((m, i) => row(m, stats[i])) : [h('p', { class: 'muted' }, 'No models registered.')]));
    } catch (e) {
      list.replaceChildren(h('p', { class: 'form-error' }, `Could not list models: ${e.message}`));
    }
  }

  app.append(h('section', { class: 'models-page' }, h('h2', {}, 'Models'), uploadForm, list));
  load();
}
