// Image library: upload (button or drag-and-drop, with progress), search,
// status filter, paging, thumbnails, delete for admins.
import { api, get, uploadFiles, ApiError } from './api.js';
import { rememberLibraryFilter } from './editor/worklist.js';
import { h, toast, fmtTime } from './dom.js';
import { session, navigate } from './app.js';
import { burnedInBadge, burnedInFlagged } from './burned.js';
import { imageName, forgetImageName } from './names.js';
import { openAssignDialog, openLabelDialog } from './admin/assign.js';
import { studyReportControl } from './reports/study.js';

const PER_PAGE = 24;
const STATUS_NAMES = { new: 'new', in_review: 'in review', done: 'done' };

/** The library's address for a filter: {q, status, study, assigned, page}. */
function libraryHash({ q = '', status = '', study = '', assigned = '', page = 1 }) {
  const p = new URLSearchParams();
  if (q) p.set('q', q);
  if (status) p.set('status', status);
  if (study) p.set('study', study);
  if (assigned) p.set('assigned', assigned);
  if (page > 1) p.set('page', String(page));
  const s = p.toString();
  return '#/images' + (s ? '?' + s : '');
}

/** The filter form; a change or a search goes to the library of the new filter. */
function filterForm({ q, status, study, assigned }) {
  const search = h('input', { type: 'search', id: 'search', placeholder: 'Search file name, study…', value: q });
  const statusSel = h('select', { id: 'status-filter' },
    h('option', { value: '' }, 'any status'),
    ...Object.entries(STATUS_NAMES).map(([v, n]) => h('option', { value: v, selected: v === status }, n)),
  );
  const assignedBox = h('input', { type: 'checkbox', id: 'assigned-filter', checked: !!assigned });
  const apply = () => navigate(libraryHash({
    q: search.value.trim(), status: statusSel.value, study, assigned: assignedBox.checked ? 'me' : '',
  }));
  const studyChip = study
    ? h('span', { class: 'chip', id: 'study-filter', title: study },
      `study …${study.slice(-8)} `,
      h('a', { href: libraryHash({ q, status, study: '', assigned }), id: 'study-filter-clear', title: 'All studies' }, '×'))
    : null;
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); apply(); } },
    search, statusSel,
    h('label', { class: 'small', title: 'Images you read blind' }, assignedBox, ' assigned to me'),
    studyChip, study ? studyReportControl({ study_pseudonym: study }) : null,
    h('button', { type: 'submit' }, 'Search'),
    h('a', { href: '#/studies', id: 'by-study', class: 'small', title: 'Images grouped by study' }, 'by study'));
  statusSel.addEventListener('change', apply);
  assignedBox.addEventListener('change', apply);
  return form;
}

const IMAGE_TYPES = '.dcm,.dicom,.png,.jpg,.jpeg,application/dicom,image/png,image/jpeg';

/**
 * The upload drop zone and its file input. One request per file, so one bad
 * file does not hold back the others; the bar shows the bytes sent over all
 * of them. `reload()` lists the library again; `live()`: the page is showing.
 */
function uploader({ canUpload, reload, live }) {
  const fileInput = h('input', { type: 'file', id: 'file-input', multiple: true, hidden: true, accept: IMAGE_TYPES });
  const progress = h('progress', { id: 'upload-progress', max: 100, value: 0, hidden: true });
  const progressText = h('span', { id: 'upload-status', class: 'muted' });
  const results = h('ul', { class: 'upload-results', id: 'upload-results' });
  const drop = h('div', { class: 'dropzone', id: 'dropzone' },
    h('div', { class: 'dropzone-line' },
      h('button', { type: 'button', id: 'upload-btn', class: 'primary', onclick: () => fileInput.click() }, 'Upload images…'),
      h('span', {}, 'or drop DICOM / PNG / JPEG files here.')),
    h('div', { class: 'upload-line' }, progress, progressText), results);

  async function doUpload(files) {
    if (!files.length) return;
    const total = files.reduce((n, f) => n + f.size, 0) || 1;
    let done = 0;
    let ok = 0;
    const failed = [];
    let lastShown = Date.now();
    progress.hidden = false;
    progress.value = 0;
    results.replaceChildren();
    for (const [i, f] of files.entries()) {
      progressText.textContent = `uploading ${files.length} file(s)… ${i + 1}/${files.length}`;
      try {
        await uploadFiles([f], (loaded) => {
          progress.value = Math.round((100 * (done + Math.min(loaded, f.size))) / total);
        });
        ok += 1;
      } catch (e) {
        const why = e instanceof ApiError ? e.message : String(e);
        failed.push(f.name);
        // The server's message names the file already.
        results.append(h('li', { class: 'failed' }, why.startsWith(f.name) ? why : `${f.name}: ${why}`));
      }
      done += f.size;
      progress.value = Math.round((100 * done) / total);
      // A long batch shows its images as they arrive (at most every 2 s).
      if (ok && Date.now() - lastShown > 2000 && live()) {
        lastShown = Date.now();
        reload();
      }
    }
    progress.hidden = true;
    if (failed.length) {
      progressText.textContent = `uploaded ${ok} of ${files.length} file(s); ${failed.length} failed`;
      toast(`${failed.length} upload(s) failed`, 'error');
    } else {
      progressText.textContent = `uploaded ${files.length} file(s)`;
      toast(`Uploaded ${files.length} file(s)`);
    }
    if (ok) reload();
  }

  fileInput.addEventListener('change', () => {
    doUpload([...fileInput.files]);
    fileInput.value = '';
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (canUpload) doUpload([...e.dataTransfer.files]);
  });
  return { drop, fileInput };
}

/**
 * "Replace file…": a hidden file input; boxes that would fall outside a
 * smaller image make the server answer 409, and the user may then clip
 * them (force). `replace(img)` asks for the file.
 */
function replacer(reload) {
  const input = h('input', { type: 'file', id: 'replace-input', hidden: true, accept: IMAGE_TYPES });
  let replacing = null;
  input.addEventListener('change', async () => {
    const f = input.files[0];
    input.value = '';
    const img = replacing;
    replacing = null;
    if (!f || !img) return;
    const send = (force) => uploadFiles([f], () => {}, {
      method: 'PUT', path: `/images/${encodeURIComponent(img.id)}/file?force=${force}`,
    });
    try {
      try {
        await send(false);
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 409) throw e;
        if (!confirm(`${e.message}\n\nReplace anyway and clip those boxes to the new image?`)) return;
        await send(true);
      }
      toast('File replaced');
      reload();
    } catch (e) {
      toast(`Could not replace the file: ${e.message}`, 'error');
    }
  });
  return {
    input,
    replace(img) {
      replacing = img;
      input.click();
    },
  };
}

async function removeImage(img, reload) {
  if (!confirm(`Delete ${imageName(img)} and all its annotations?`)) return;
  try {
    await api('DELETE', `/images/${encodeURIComponent(img.id)}`);
    toast('Image deleted');
    reload();
  } catch (e) {
    toast(e.message, 'error');
  }
}

async function confirmBurnedIn(img, reload) {
  if (!confirm(`Have you checked ${imageName(img)} for burned-in text that identifies the patient? Confirming lets it into exports.`)) return;
  try {
    await api('POST', `/images/${encodeURIComponent(img.id)}/burned-in/confirm`);
    toast('Confirmed for export');
    reload();
  } catch (e) {
    toast(e.message, 'error');
  }
}

// Box counts: reviewed boxes and the proposals at or above the user's
// threshold (null: unknown), apart; servers without those fields give box_count only.
function boxBadges(img, threshold) {
  if (img.blind) return [h('span', { class: 'badge blind-badge', title: 'Assigned to you for blind reading: others\' boxes stay hidden until you submit' }, 'blind reading')];
  const out = [];
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  if (typeof img.reviewed_box_count === 'number' || typeof img.proposals_above_threshold === 'number') {
    if (img.reviewed_box_count) out.push(h('span', { class: 'badge reviewed-badge', title: 'Accepted, edited and hand-drawn boxes' }, plural(img.reviewed_box_count, 'reviewed box', 'reviewed boxes')));
    if (img.proposals_above_threshold) {
      out.push(h('span', { class: 'badge proposals-badge', title: `Model proposals waiting for review with a score at or above your threshold${threshold !== null ? ` (${threshold.toFixed(2)})` : ''}${typeof img.proposal_count === 'number' ? `; ${img.proposal_count} in all` : ''}` },
        plural(img.proposals_above_threshold, 'proposal', 'proposals') + (threshold !== null ? ` ≥ ${threshold.toFixed(2)}` : '')));
    }
  } else if (img.box_count) {
    out.push(h('span', { class: 'badge' }, plural(img.box_count, 'box', 'boxes')));
  }
  return out;
}

/** A card's buttons: replace (uploaders), readers, label, confirm for export, delete (admins). */
function cardActions(img, { canUpload, isAdmin, replace, reload }) {
  return h('div', { class: 'card-actions' },
    canUpload && !img.blind ? h('button', { type: 'button', class: 'small replace-btn', onclick: () => replace(img) }, 'Replace file…') : null,
    isAdmin ? h('button', { type: 'button', class: 'small assign-btn', title: 'Assign blind readers and a reviewer', onclick: () => openAssignDialog(img).then((ok) => ok && reload()) }, 'Readers…') : null,
    isAdmin ? h('button', { type: 'button', class: 'small label-btn', title: 'Set the name shown for this image', onclick: () => openLabelDialog(img).then((ok) => { if (ok) { forgetImageName(img.id); reload(); } }) }, 'Label…') : null,
    isAdmin && burnedInFlagged(img) && !img.burned_in_confirmed_at
      ? h('button', { type: 'button', class: 'small burned-in-confirm-btn', title: 'I have looked at the pixels: allow this image in exports', onclick: () => confirmBurnedIn(img, reload) }, 'Confirm for export')
      : null,
    isAdmin ? h('button', { type: 'button', class: 'danger small delete-btn', onclick: () => removeImage(img, reload) }, 'Delete') : null);
}

/** One image's card; `ctx`: filter, threshold and what cardActions needs. */
function imageCard(img, ctx) {
  // A blind reader reads the image in their reading view, not the editor.
  const open = img.blind ? `#/readings/${encodeURIComponent(img.id)}` : `#/images/${encodeURIComponent(img.id)}`;
  const name = imageName(img);
  return h('article', { class: 'image-card', dataset: { id: String(img.id) } },
    h('a', { href: open, class: 'thumb' },
      h('img', { src: `/api/v1/images/${encodeURIComponent(img.id)}/thumbnail`, alt: '', loading: 'lazy' })),
    h('div', { class: 'meta' },
      h('a', { href: open, class: 'name', title: img.original_filename && img.original_filename !== name ? `${name} (${img.original_filename})` : name }, name),
      h('div', { class: 'badges' },
        // A blind reader is not told the review status (others' work).
        img.status ? h('span', { class: `status status-${img.status}` }, STATUS_NAMES[img.status] || img.status) : null,
        h('span', { class: 'small' }, `${img.width}×${img.height} ${img.format || ''}`),
        img.no_finding ? h('span', { class: 'badge' }, 'no finding') : null,
        ...boxBadges(img, ctx.threshold()),
        img.prediction_status ? h('span', { class: `badge job-status job-${img.prediction_status}`, dataset: { jobStatus: img.prediction_status } }, `model: ${img.prediction_status}`) : null,
        burnedInBadge(img),
        img.format === 'dicom' && img.study_pseudonym && !ctx.filter.study
          ? h('a', { class: 'badge study-link', href: libraryHash({ ...ctx.filter, study: img.study_pseudonym }), title: 'The images of this study' }, 'study')
          : null),
      h('div', { class: 'muted small' }, `last: ${img.updated_by || img.created_by || '—'} · ${fmtTime(img.updated_at || img.created_at)}`),
      cardActions(img, ctx)));
}

/** "‹ previous · page n of m · total · next ›" */
function pagerLinks(filter, page, total) {
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  return [
    h('a', { href: libraryHash({ ...filter, page: page - 1 }), class: page > 1 ? '' : 'disabled' }, '‹ previous'),
    ` page ${page} of ${pages} · ${total} image(s) `,
    h('a', { href: libraryHash({ ...filter, page: page + 1 }), class: page < pages ? '' : 'disabled' }, 'next ›'),
  ];
}

export function renderLibrary(app, params) {
  // A study (its pseudonym, from a card's "study" link) and "assigned to me".
  const filter = {
    q: params.get('q') || '',
    status: params.get('status') || '',
    study: params.get('study') || '',
    assigned: params.get('assigned') === 'me' ? 'me' : '',
  };
  const page = Math.max(1, parseInt(params.get('page') || '1', 10) || 1);
  const canUpload = session.user.role === 'admin' || session.user.role === 'radiologist';
  const isAdmin = session.user.role === 'admin';
  // The editor's Next / Previous walk the images of this filter.
  rememberLibraryFilter(params);

  const grid = h('div', { class: 'card-grid', id: 'image-grid' }, h('p', { class: 'muted' }, 'Loading…'));
  const pager = h('nav', { class: 'pager', id: 'pager' });
  const reload = () => load();
  const upload = uploader({ canUpload, reload, live: () => grid.isConnected });
  const replace = replacer(reload);
  let pollTimer = null;
  // The user's proposal threshold, to say what the proposal counts mean.
  let threshold = null;
  const thresholdLoaded = get('/me/preferences').then((p) => {
    if (typeof p.proposal_threshold === 'number') threshold = p.proposal_threshold;
  }).catch(() => {});
  const ctx = { filter, canUpload, isAdmin, replace: replace.replace, reload, threshold: () => threshold };

  async function load() {
    const p = new URLSearchParams({ page: String(page), per_page: String(PER_PAGE) });
    for (const k of ['q', 'status', 'study', 'assigned']) if (filter[k]) p.set(k, filter[k]);
    try {
      const [data] = await Promise.all([get('/images?' + p), thresholdLoaded]);
      const images = Array.isArray(data) ? data : data.images;
      const total = Array.isArray(data) ? images.length : data.total ?? images.length;
      grid.replaceChildren(...(images.length ? images.map((img) => imageCard(img, ctx)) : [h('p', { class: 'muted' }, 'No images yet.')]));
      // While the model is still working on a shown image, look again shortly.
      clearTimeout(pollTimer);
      if (images.some((i) => i.prediction_status === 'queued' || i.prediction_status === 'running')) {
        pollTimer = setTimeout(() => {
          if (grid.isConnected) load();
        }, 1000);
      }
      pager.replaceChildren(...pagerLinks(filter, page, total));
    } catch (e) {
      grid.replaceChildren(h('p', { class: 'form-error' }, `Could not list images: ${e.message}`));
    }
  }

  app.append(
    h('section', { class: 'library' },
      h('div', { class: 'toolbar' }, filterForm(filter)),
      canUpload ? upload.drop : null, upload.fileInput, replace.input, grid, pager),
  );
  load();
}
