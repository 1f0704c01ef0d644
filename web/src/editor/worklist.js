// The worklist: the images of the library's current filter, walked from the
// editor with Next / Previous without going back to the library. The
// library records its filter (its hash query without the page) in
// sessionStorage; the editor takes a snapshot of the matching image ids the
// first time it needs them, so an image that leaves the filter when it is
// reviewed (status=new → done) keeps its place in the walk. Opening the
// library again starts a new snapshot. No Cornerstone here: the library
// imports this module.
import { get } from '../api.js';

const FILTER_KEY = 'carina.libraryFilter';
const SNAPSHOT_KEY = 'carina.worklist';
const PAGE = 500;
const MAX_IDS = 10000;

/** Called by the library on every render: remembers its filter, forgets the old walk. */
export function rememberLibraryFilter(params) {
  const q = new URLSearchParams(params);
  q.delete('page');
  try {
    sessionStorage.setItem(FILTER_KEY, q.toString());
    sessionStorage.removeItem(SNAPSHOT_KEY);
  } catch {
    // Storage may be unavailable (privacy mode): the walk then covers every image.
  }
}

/** The library filter as a query string ('' = every image). */
export function libraryFilter() {
  try {
    return sessionStorage.getItem(FILTER_KEY) || '';
  } catch {
    return '';
  }
}

function readSnapshot() {
  try {
    return JSON.parse(sessionStorage.getItem(SNAPSHOT_KEY) || 'null');
  } catch {
    return null;
  }
}

async function fetchIds(query) {
  const ids = [];
  for (let page = 1; ids.length < MAX_IDS; page++) {
    const p = new URLSearchParams(query);
    p.set('page', String(page));
    p.set('per_page', String(PAGE));
    const data = await get('/images?' + p);
    const images = Array.isArray(data) ? data : data.images;
    ids.push(...images.map((i) => String(i.id)));
    const total = Array.isArray(data) ? images.length : data.total ?? images.length;
    if (!images.length || ids.length >= total) break;
  }
  return ids;
}

/** Reviewed (status done) of all images of the filter, whatever their status. */
async function fetchProgress(query) {
  const p = new URLSearchParams(query);
  p.delete('status');
  p.set('per_page', '1');
  const data = await get('/images?' + p);
  if (data && data.counts) {
    const c = data.counts;
    return { done: c.done || 0, total: (c.new || 0) + (c.in_review || 0) + (c.done || 0) };
  }
  // A server without `counts`: the total, and the total of status=done.
  p.set('status', 'done');
  const done = await get('/images?' + p);
  return { done: done.total ?? 0, total: data.total ?? 0 };
}

/**
 * The walk around `imageId`: {query, ids, index (-1 when the image is not
 * in the list), next(), previous(), progress()}.
 */
export async function openWorklist(imageId) {
  const query = libraryFilter();
  const id = String(imageId);
  let snap = readSnapshot();
  if (!snap || snap.query !== query || !snap.ids.includes(id)) {
    snap = { query, ids: await fetchIds(query) };
    try {
      sessionStorage.setItem(SNAPSHOT_KEY, JSON.stringify(snap));
    } catch {
      // Not kept; the next image fetches the list again.
    }
  }
  const index = snap.ids.indexOf(id);
  return {
    query,
    ids: snap.ids,
    index,
    next: () => (index + 1 < snap.ids.length ? snap.ids[index + 1] : null),
    previous: () => (index > 0 ? snap.ids[index - 1] : null),
    progress: () => fetchProgress(query),
    libraryHash: () => '#/images' + (query ? '?' + query : ''),
  };
}

// Data fetched ahead for the next image: {meta, state} promises by id.
const ahead = new Map();
const AHEAD_MS = 60_000;

/** Starts fetching the image's metadata and annotations. */
export function prefetchData(id) {
  id = String(id);
  const have = ahead.get(id);
  if (have && Date.now() - have.at < AHEAD_MS) return;
  const path = `/images/${encodeURIComponent(id)}`;
  const entry = { at: Date.now(), meta: get(path), state: get(`${path}/annotations`) };
  // A failed prefetch is simply fetched again on open.
  entry.meta.catch(() => ahead.delete(id));
  entry.state.catch(() => ahead.delete(id));
  ahead.set(id, entry);
}

/** The prefetched metadata promise of `id`, left in place for the editor, or null. */
export function prefetchedMeta(id) {
  const e = ahead.get(String(id));
  return e && Date.now() - e.at < AHEAD_MS ? e.meta : null;
}

/** The prefetched {meta, state} promises of `id` (once), or null. */
export function takePrefetched(id) {
  id = String(id);
  const e = ahead.get(id);
  ahead.delete(id);
  return e && Date.now() - e.at < AHEAD_MS ? e : null;
}
