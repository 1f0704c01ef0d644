// What the UI calls an image: the server's `display_name` (the admin's
// label, else "P-3F2A · study 2 · PA", else the file name), with fallbacks
// for servers that do not send it yet. Never a bare database id.
export function imageName(img) {
  if (!img) return 'image';
  return img.display_name || img.display_label || img.original_filename || `image ${img.id}`;
}

const cache = new Map();

/**
 * The display name of image `id` by GET /images/{id}, cached for the page's
 * life (for lists that carry only ids: reports, assignments). `get` is
 * api.js's; resolves to `image <id>` when the image cannot be read.
 */
export function imageNameById(get, id) {
  const key = String(id);
  if (!cache.has(key)) {
    cache.set(key, get(`/images/${encodeURIComponent(key)}`).then(imageName).catch(() => `image ${key}`));
  }
  return cache.get(key);
}

/** Forgets cached names (after an admin renamed an image). */
export function forgetImageName(id) {
  cache.delete(String(id));
}
