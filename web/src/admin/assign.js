// Admin: assign blind readers and a reviewer to an image (POST
// /images/{id}/assignments), from the library card. Readers and reviewer are
// picked among the radiologists and admins (GET /users); readers already
// assigned are shown with their status (they stay: the server only adds).
import { api, get, ApiError } from '../api.js';
import { h, toast } from '../dom.js';
import { openDialog } from '../dialog.js';
import { imageName } from '../names.js';

/** Opens the dialog; resolves true when an assignment was saved. */
export async function openAssignDialog(img) {
  const idPath = `/images/${encodeURIComponent(img.id)}`;
  let users, current;
  try {
    [users, current] = await Promise.all([
      get('/users').then((d) => d.users.filter((u) => u.role === 'radiologist' || u.role === 'admin')),
      get(`${idPath}/readings`).catch((e) => {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }),
    ]);
  } catch (e) {
    toast(`Could not load readers: ${e.message}`, 'error');
    return false;
  }
  const assigned = new Map((current ? current.readings : []).map((r) => [r.reader, r.status]));
  const boxes = users.map((u) => {
    const cb = h('input', { type: 'checkbox', value: u.username, name: 'reader', checked: assigned.has(u.username), disabled: assigned.has(u.username) });
    return h('label', { class: 'assign-reader', dataset: { user: u.username } }, cb, ` ${u.username} `,
      h('span', { class: 'muted small' }, u.role + (assigned.has(u.username) ? ` · ${assigned.get(u.username)}` : '')));
  });
  const reviewer = h('select', { id: 'assign-reviewer', name: 'reviewer' },
    ...users.map((u) => h('option', { value: u.username, selected: current ? current.reviewer === u.username : false }, u.username)));
  const body = [
    h('p', { class: 'muted small' }, `${imageName(img)}: each reader draws boxes without seeing anyone else's work until they submit; the reviewer then compares the readings and fuses them.`),
    h('fieldset', { class: 'assign-readers' }, h('legend', {}, 'Readers'),
      ...(boxes.length ? boxes : [h('p', { class: 'muted' }, 'No radiologist or admin account.')])),
    h('label', {}, 'Reviewer ', reviewer),
  ];
  return openDialog({
    id: 'assign-dialog',
    title: 'Blind reading: assign readers',
    body,
    okText: 'Assign',
    onOk: async () => {
      const readers = boxes.map((l) => l.querySelector('input')).filter((c) => c.checked && !c.disabled).map((c) => c.value);
      if (!readers.length && !current) throw new Error('Pick at least one reader.');
      await api('POST', `${idPath}/assignments`, { body: { readers, reviewer: reviewer.value } });
      toast(readers.length ? `Assigned ${readers.join(', ')} (reviewer ${reviewer.value})` : `Reviewer is now ${reviewer.value}`);
      return true;
    },
  });
}

/** Admin: set or clear an image's display label (PATCH /images/{id}). */
export async function openLabelDialog(img) {
  const input = h('input', { id: 'display-label-input', maxLength: 80, value: img.display_label || '', placeholder: 'e.g. Teaching case 4 · follow-up' });
  return openDialog({
    id: 'label-dialog',
    title: 'Display label',
    body: [
      h('p', { class: 'muted small' }, 'Shown instead of the generated name everywhere (at most 80 characters; empty: back to the generated name). Keep patient-identifying text out of it.'),
      input,
    ],
    okText: 'Save label',
    onOk: async () => {
      await api('PATCH', `/images/${encodeURIComponent(img.id)}`, { body: { display_label: input.value.trim() || null } });
      toast('Label saved');
      return true;
    },
  });
}
