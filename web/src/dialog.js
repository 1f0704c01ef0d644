// The page's modal dialogs (<dialog>, no inline handlers, no window.confirm):
// a title, a body of nodes, OK / Cancel; Escape and Cancel close it.
//  - openDialog: `onOk` may return false (or throw) to keep it open; its
//    error is shown in the dialog. Resolves true when OK went through.
//  - confirmDialog: for an irreversible step; it names what will be frozen,
//    and the safe choice (Cancel) has the focus, so Enter freezes nothing by
//    accident. Resolves true when confirmed.
import { h } from './dom.js';

export function openDialog({
  id,
  title,
  body = [],
  okText = 'OK',
  onOk = async () => true,
  okId = id ? `${id}-ok` : null,
  cancelId = id ? `${id}-cancel` : null,
  className = 'card dialog',
  focusCancel = false,
}) {
  return new Promise((resolve) => {
    const error = h('p', { class: 'form-error', role: 'alert' });
    const ok = h('button', { type: 'submit', class: 'primary', id: okId }, okText);
    const cancel = h('button', { type: 'button', id: cancelId }, 'Cancel');
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', {}, title), ...body, error, h('div', { class: 'row' }, cancel, ok));
    const dlg = h('dialog', { class: className, id: id || null }, form);
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
    if (focusCancel) cancel.focus();
  });
}

/**
 * @param {{title: string, body: (string|Node)[]|string, confirmLabel: string, id?: string}} opts
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, body, confirmLabel, id = 'confirm-dialog' }) {
  return openDialog({
    id,
    title,
    body: [h('div', { class: 'confirm-body' }, ...(Array.isArray(body) ? body : [body]))],
    okText: confirmLabel,
    okId: 'confirm-ok',
    cancelId: 'confirm-cancel',
    className: 'card dialog confirm-dialog',
    focusCancel: true,
  });
}
