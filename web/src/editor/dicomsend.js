// The side panel's "Send to PACS" action (under "DICOM SR"): choose a peer
// from GET /dicom/peers (AE titles of CARINA_DICOM_PEERS entries with an
// address), what to send (the reviewed boxes as an SR, the de-identified
// image, or both), queue POST /images/{id}/send and follow the job until
// the peer stored everything (done) or it failed, showing the peer's or
// the network's message. With no peer configured it says so instead. The SR
// is built from the saved boxes, so unsaved changes must be saved first.
import { api, get } from '../api.js';
import { h, toast } from '../dom.js';

const POLL_MS = 500;

const WHAT = [
  ['sr', 'SR (boxes)'],
  ['image', 'Image'],
  ['both', 'SR and image'],
];

/** What a job's state reads as. */
function describe(job) {
  const dest = job.payload && job.payload.destination ? job.payload.destination : 'the peer';
  if (job.status === 'done') {
    const n = job.result && job.result.sent ? job.result.sent.length : 0;
    return { text: `Sent to ${dest}: ${n} object${n === 1 ? '' : 's'} stored.`, kind: 'done' };
  }
  if (job.status === 'failed') return { text: `Sending to ${dest} failed: ${job.last_error || 'unknown error'}`, kind: 'failed' };
  if (job.last_error) return { text: `Sending to ${dest}… retrying after: ${job.last_error}`, kind: 'running' };
  return { text: `Sending to ${dest}…`, kind: 'running' };
}

/**
 * @param {import('./state.js').EditorState} state
 * @returns {{el: HTMLElement, destroy: () => void}}
 */
export function createSendTools(state) {
  const destination = h('select', { id: 'send-destination', 'aria-label': 'Destination (DICOM peer)' });
  const what = h('select', { id: 'send-what', 'aria-label': 'What to send' },
    WHAT.map(([v, label]) => h('option', { value: v }, label)));
  const button = h('button', { type: 'button', id: 'send-pacs', class: 'small', disabled: true, title: 'C-STORE to the chosen DICOM peer' }, 'Send to PACS');
  const status = h('div', { id: 'send-status', class: 'small muted', role: 'status' });
  const controls = h('div', { class: 'send-controls', hidden: true }, destination, ' ', what, ' ', button);
  const el = h('div', { class: 'send-tools', id: 'send-tools' }, controls, status);
  let timer = null;
  let destroyed = false;

  function show(job) {
    const { text, kind } = describe(job);
    status.textContent = text;
    status.className = `small send-${kind}`;
    status.dataset.status = job.status;
  }

  async function poll(id) {
    timer = null;
    if (destroyed) return;
    let job;
    try {
      job = await get(`/jobs/${id}`);
    } catch (e) {
      status.textContent = `Cannot read the send job: ${e.message}`;
      timer = setTimeout(() => poll(id), POLL_MS * 4);
      return;
    }
    show(job);
    if (job.status === 'done' || job.status === 'failed') {
      button.disabled = false;
      if (job.status === 'failed') toast(status.textContent, 'error');
    } else {
      timer = setTimeout(() => poll(id), POLL_MS);
    }
  }

  button.addEventListener('click', async () => {
    if (state.doc.isDirty()) {
      toast('Save your changes first: the SR is made from the saved boxes.', 'error');
      return;
    }
    button.disabled = true;
    try {
      const { data } = await api('POST', `${state.idPath}/send`, { body: { destination: destination.value, what: what.value } });
      show(data.job);
      poll(data.job.id);
    } catch (e) {
      button.disabled = false;
      status.textContent = `Could not send: ${e.message}`;
      status.className = 'small send-failed';
      toast(status.textContent, 'error');
    }
  });

  get('/dicom/peers').then((data) => {
    if (destroyed) return;
    const peers = data.peers || [];
    if (peers.length === 0) {
      status.textContent = 'No DICOM peer to send to: an administrator configures them in CARINA_DICOM_PEERS (AETITLE@host:port).';
      return;
    }
    for (const p of peers) destination.append(h('option', { value: p.ae_title }, p.ae_title));
    controls.hidden = false;
    button.disabled = false;
    if (data.send_on_sign) status.textContent = `Signed reports go to ${data.send_on_sign} automatically.`;
  }).catch((e) => {
    status.textContent = `Cannot list the DICOM peers: ${e.message}`;
  });

  return {
    el,
    destroy() {
      destroyed = true;
      clearTimeout(timer);
    },
  };
}
