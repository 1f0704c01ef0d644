// A small modal dialog (<dialog>, no inline handlers): a title, a body of
// nodes, OK / Cancel. `onOk` may return false (or throw) to keep it open;
// its error is shown in the dialog. Resolves true when OK went through.
import { h } from './dom.js';

export function openDialog({ id, title, body = [], okText = 'OK', onOk = async () => true }) {
  return new Promise((resolve) => {
    const error = h('p', { class: 'form-error', role: 'alert' });
    const ok = h('button', { type: 'submit', class: 'primary', id: id ? `${id}-ok` : null }, okText);
    const cancel = h('button', { type: 'button', id: id ? `${id}-cancel` : null }, 'Cancel');
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', {}, title), ...body, error, h('div', { class: 'row' }, ok, cancel));
    const dlg = h('dialog', { class: 'card dialog', id: id || null }, form);
    let result = false;
    const close = () => {
      dlg.close();
    };
    cancel.addEventListener('click', close);
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      ok.disabled = true;
      try {
        if ((await onOk()) !== false) {
          result = true;
          close();
        }
      } catch (err) {
        error.textContent = err && err.message ? err.message : String(err);
      } finally {
        ok.disabled = false;
      }
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}
