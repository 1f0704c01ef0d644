// Admin: the project's label set. Add, rename, recolour, retire or restore
// (labels are never deleted, so old boxes keep their label).
import { api, get } from '../api.js';
import { h, toast } from '../dom.js';

export function renderLabels(app) {
  const body = h('tbody', { id: 'labels-body' });
  const msg = h('p', { class: 'form-error', id: 'labels-error', role: 'alert' });

  async function patch(label, change, what) {
    try {
      const { data } = await api('PATCH', `/labels/${label.id}`, { body: change });
      Object.assign(label, data);
      toast(`${data.name}: ${what}`);
      return true;
    } catch (e) {
      toast(`Could not change ${label.name}: ${e.message}`, 'error');
      return false;
    }
  }

  function row(l) {
    const name = h('input', { class: 'label-name', value: l.name, maxLength: 64, 'aria-label': `name of label ${l.id}` });
    const color = h('input', { class: 'label-color', type: 'color', value: l.color, 'aria-label': `colour of ${l.name}` });
    const retire = h('button', { type: 'button', class: 'small label-retire' + (l.retired ? '' : ' danger') },
      l.retired ? 'Restore' : 'Retire');
    const tr = h('tr', { class: 'label-row' + (l.retired ? ' retired' : ''), dataset: { id: String(l.id) } },
      h('td', { class: 'muted' }, String(l.id)),
      h('td', {}, name),
      h('td', {}, color),
      h('td', { class: 'label-state' }, l.retired ? 'retired' : 'active'),
      h('td', {}, retire));
    name.addEventListener('change', async () => {
      const v = name.value.trim();
      if (!v || v === l.name) {
        name.value = l.name;
        return;
      }
      if (!(await patch(l, { name: v }, 'renamed'))) name.value = l.name;
    });
    color.addEventListener('change', async () => {
      if (color.value === l.color) return;
      if (!(await patch(l, { color: color.value }, 'recoloured'))) color.value = l.color;
    });
    retire.addEventListener('click', async () => {
      if (!l.retired && !confirm(`Retire "${l.name}"? Existing boxes keep it; it can no longer be chosen for new boxes.`)) return;
      if (await patch(l, { retired: !l.retired }, l.retired ? 'restored' : 'retired')) tr.replaceWith(row(l));
    });
    return tr;
  }

  const newName = h('input', { id: 'new-label-name', placeholder: 'New label name', maxLength: 64, required: true });
  const newColor = h('input', { id: 'new-label-color', type: 'color', value: '#e6194b' });
  const addForm = h('form', { class: 'filters', id: 'new-label-form' }, newName, newColor,
    h('button', { type: 'submit', class: 'primary' }, 'Add label'));
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = newName.value.trim();
    if (!name) return;
    try {
      const { data } = await api('POST', '/labels', { body: { name, color: newColor.value } });
      body.append(row(data));
      newName.value = '';
      toast(`Label ${data.name} added`);
    } catch (err) {
      toast(`Could not add the label: ${err.message}`, 'error');
    }
  });

  async function load() {
    try {
      const data = await get('/labels');
      body.replaceChildren(...data.labels.sort((a, b) => a.id - b.id).map(row));
      msg.textContent = '';
    } catch (e) {
      msg.textContent = `Could not list labels: ${e.message}`;
    }
  }

  app.append(h('section', { class: 'admin', id: 'admin-labels' },
    h('h2', {}, 'Label set'),
    h('p', { class: 'muted small' }, 'Renaming or recolouring changes every box with that label; retired labels stay on old boxes but cannot be chosen for new ones.'),
    msg,
    addForm,
    h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Id'), h('th', {}, 'Name'), h('th', {}, 'Colour'), h('th', {}, 'State'), h('th', {}, ''))),
      body)));
  load();
}
