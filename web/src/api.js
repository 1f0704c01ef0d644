// Thin client for Carina's JSON API (docs/http-api.md). Cookie sessions need
// the CSRF token on every state-changing request; it comes from login or
// GET /me and is kept in memory only.

const BASE = '/api/v1';
let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** An API error with the server's `{error:{code,message}}` body. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || 'http_' + status;
  }
}

async function errorFrom(res) {
  let code = null;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code;
      message = body.error.message || message;
    }
  } catch {
    // Not JSON (e.g. a proxy error page): keep the status line.
  }
  return new ApiError(res.status, code, message);
}

/**
 * Calls the API. `body` is sent as JSON; `headers` adds to the defaults.
 * Returns `{data, res}`; throws ApiError for non-2xx answers.
 */
export async function api(method, path, { body, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) h['X-CSRF-Token'] = csrfToken;
  const res = await fetch(BASE + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (!res.ok) throw await errorFrom(res);
  const text = res.status === 204 ? '' : await res.text();
  const data = text ? JSON.parse(text) : null;
  return { data, res };
}

export const get = (path) => api('GET', path).then((r) => r.data);

/**
 * Uploads files as multipart `file` parts with XMLHttpRequest, because fetch
 * cannot report upload progress (POST /images by default; replacing a file
 * is `{method: 'PUT', path: '/images/<id>/file?force=…'}`). `onProgress(loaded, total)` is called as
 * bytes leave. Resolves with the parsed JSON answer.
 */
export function uploadFiles(files, onProgress, { method = 'POST', path = '/images' } = {}) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const f of files) form.append('file', f, f.name);
    const xhr = new XMLHttpRequest();
    xhr.open(method, BASE + path);
    xhr.setRequestHeader('Accept', 'application/json');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body);
      } else {
        const e = body && body.error ? body.error : {};
        reject(new ApiError(xhr.status, e.code, e.message || `upload failed (HTTP ${xhr.status})`));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network', 'network error during upload')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'upload aborted')));
    xhr.send(form);
  });
}
