// @ts-check
// The UI's only way to the server: the public HTTP API under /api/v1, with the bearer key from localStorage.

const BASE = '/api/v1';

export function apiKey() {
  return localStorage.getItem('veil.apiKey') || '';
}

/** @param {string} k */
export function setApiKey(k) {
  if (k) localStorage.setItem('veil.apiKey', k);
  else localStorage.removeItem('veil.apiKey');
}

function headers(extra = {}) {
  const k = apiKey();
  return k ? { ...extra, authorization: `Bearer ${k}` } : extra;
}

/** An API error: the registry code, HTTP status and the server's message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** @param {Response} res */
async function fail(res) {
  let code = 'HTTP_' + res.status, message = res.statusText;
  try {
    const b = await res.json();
    if (b && b.error) { code = b.error.code; message = b.error.message; }
  } catch { /* not JSON */ }
  return new ApiError(res.status, code, message);
}

/**
 * GET a JSON resource; empty query values are left out, an array value repeats its parameter.
 * @param {string} path
 * @param {Record<string, string | number | boolean | null | undefined | readonly string[]>} [query]
 * @returns {Promise<any>}
 */
export async function get(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) for (const x of v) q.append(k, String(x));
    else if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  const res = await fetch(`${BASE}${path}${qs ? `?${qs}` : ''}`, { headers: headers() });
  if (!res.ok) throw await fail(res);
  return res.json();
}

/**
 * A JSON request (PATCH, POST) answered with JSON.
 * @param {string} method
 * @param {string} path
 * @param {unknown} body
 * @returns {Promise<any>}
 */
export async function send(method, path, body) {
  const res = await fetch(`${BASE}${path}`, { method, headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify(body) });
  if (!res.ok) throw await fail(res);
  return res.status === 204 ? null : res.json();
}

/**
 * POST with no body (an action such as activating a model version), answered with JSON. No content-type is sent:
 * a JSON content-type with an empty body is a 400 to the server.
 * @param {string} path
 * @returns {Promise<any>}
 */
export async function post(path) {
  const res = await fetch(`${BASE}${path}`, { method: 'POST', headers: headers() });
  if (!res.ok) throw await fail(res);
  return res.status === 204 ? null : res.json();
}

/** The address of an API path, for a plain link when the server needs no key. */
/** @param {string} path */
export function apiUrl(path) {
  return `${BASE}${path}`;
}

/**
 * Opens an API file (an HTML report, a JSON document) in a new tab: a plain link without a key, else fetched with
 * the key and opened from a blob (a link cannot carry the header).
 * @param {string} path
 */
export async function openApi(path) {
  if (!apiKey()) { window.open(apiUrl(path), '_blank', 'noopener'); return; }
  const u = await blobUrl(path);
  window.open(u, '_blank', 'noopener');
  setTimeout(() => URL.revokeObjectURL(u), 60_000);
}

/**
 * DELETE a resource (a 404 counts as done: it is gone either way).
 * @param {string} path
 */
export async function del(path) {
  const res = await fetch(`${BASE}${path}`, { method: 'DELETE', headers: headers() });
  if (!res.ok && res.status !== 404) throw await fail(res);
}

/** An SVG chart (or any file) from the API as an object URL for <img src> / download links. */
/** @param {string} path */
export async function blobUrl(path) {
  const res = await fetch(`${BASE}${path}`, { headers: headers() });
  if (!res.ok) throw await fail(res);
  return URL.createObjectURL(await res.blob());
}

/** Downloads an API file: a plain link when no key is needed, else fetched with the key and saved from a blob. */
/**
 * @param {string} path
 * @param {string} filename
 */
export async function download(path, filename) {
  const a = document.createElement('a');
  a.download = filename;
  let revoke = null;
  if (apiKey()) {
    revoke = await blobUrl(path);
    a.href = revoke;
  } else {
    a.href = `${BASE}${path}`;
  }
  document.body.append(a);
  a.click();
  a.remove();
  if (revoke) setTimeout(() => URL.revokeObjectURL(revoke), 60_000);
}

/**
 * Multipart upload with progress (XMLHttpRequest: fetch has no upload progress).
 * onProgress(fraction) while bytes go out; resolves with the parsed JSON response.
 */
/**
 * @param {string} path
 * @param {FormData} form
 * @param {(fraction: number) => void} onProgress
 * @returns {Promise<any>}
 */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${BASE}${path}`);
    const k = apiKey();
    if (k) xhr.setRequestHeader('authorization', `Bearer ${k}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body?.error?.code ?? `HTTP_${xhr.status}`, body?.error?.message ?? xhr.statusText));
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'the upload failed: the connection was closed'));
    xhr.send(form);
  });
}
