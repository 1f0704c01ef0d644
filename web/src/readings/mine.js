// "My readings": the images assigned to the user for blind reading, and
// the images they review.
import { get } from '../api.js';
import { h, toast, fmtTime } from '../dom.js';
import { imageNameById } from '../names.js';

/** A table cell that shows the image's display name once it is known. */
function nameCell(id) {
  const td = h('td', { class: 'image-name' }, `image ${id}`);
  imageNameById(get, id).then((n) => {
    td.textContent = n;
  });
  return td;
}

export async function renderMyReadings(app) {
  const readingList = h('tbody', { id: 'my-readings' });
  const reviewList = h('tbody', { id: 'my-reviews' });
  app.append(h('section', { class: 'page' },
    h('h2', {}, 'My readings'),
    h('p', { class: 'muted small' }, 'Blind reading: you see only your own boxes until you submit.'),
    h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Image'), h('th', {}, 'Status'), h('th', {}, 'Boxes'), h('th', {}, 'Assigned'), h('th', {}, ''))), readingList),
    h('h2', {}, 'Images I review'),
    h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Image'), h('th', {}, 'Readers'), h('th', {}, 'Consensus'), h('th', {}, ''))), reviewList)));
  let data;
  try {
    data = await get('/me/assignments');
  } catch (e) {
    toast(e.message, 'error');
    return () => {};
  }
  if (!data.readings.length) readingList.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'Nothing assigned to you.')));
  for (const r of data.readings) {
    readingList.append(h('tr', { class: 'reading-row', dataset: { image: r.image_id } },
      nameCell(r.image_id), h('td', {}, r.status), h('td', {}, String(r.box_count)), h('td', {}, fmtTime(r.assigned_at)),
      h('td', {}, h('a', { href: `#/readings/${r.image_id}`, class: 'open-reading' }, r.status === 'submitted' ? 'View' : 'Read'))));
  }
  if (!data.reviews.length) reviewList.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'You review no image.')));
  for (const a of data.reviews) {
    const done = a.readers.filter((r) => r.status === 'submitted').length;
    reviewList.append(h('tr', { class: 'review-row', dataset: { image: a.image_id } },
      nameCell(a.image_id), h('td', {}, `${done} of ${a.readers.length} submitted`),
      h('td', {}, a.consensus_at ? fmtTime(a.consensus_at) : '—'),
      h('td', {}, h('a', { href: `#/review/${a.image_id}`, class: 'open-review' }, 'Review'))));
  }
  return () => {};
}
