// An in-page confirmation dialog (a modal <dialog>, not window.confirm, so
// it can name what an irreversible step freezes and carries the page's own
// look). Resolves true when the user confirms, false on Cancel or Escape.
import { h } from './dom.js';

/**
 * @param {{title: string, body: (string|Node)[]|string, confirmLabel: string, id?: string}} opts
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, body, confirmLabel, id = 'confirm-dialog' }) {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'button', class: 'primary', id: 'confirm-ok' }, confirmLabel);
    const cancel = h('button', { type: 'button', id: 'confirm-cancel' }, 'Cancel');
    const dlg = h('dialog', { class: 'confirm-dialog card', id },
      h('h2', {}, title),
      h('div', { class: 'confirm-body' }, ...(Array.isArray(body) ? body : [body])),
      h('div', { class: 'row' }, cancel, ok));
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      if (dlg.open) dlg.close();
      dlg.remove();
      resolve(v);
    };
    ok.addEventListener('click', () => finish(true));
    cancel.addEventListener('click', () => finish(false));
    // Escape closes a modal dialog (the `cancel` event).
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish(false);
    });
    document.body.append(dlg);
    dlg.showModal();
    // The safe choice has the focus, so Enter does not freeze anything by accident.
    cancel.focus();
  });
}
