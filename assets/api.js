// fetch with the API key, the contract's error shape, the session (key + who it is), and the SSE reader.

const KEY = 'gavel.apiKey';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || (status ? `HTTP_${status}` : 'NETWORK');
    this.details = e.details || {};
  }
}

export const session = { me: null, flash: null };

export const getKey = () => sessionStorage.getItem(KEY);
export function setKey(k) { sessionStorage.setItem(KEY, k); }
export function clearKey() { sessionStorage.removeItem(KEY); session.me = null; }
export const isAdmin = () => session.me?.key?.role === 'admin';
/** The server admin key (from `gavel init`): it manages orgs and nothing inside them. */
export const isServerAdmin = () => session.me?.server_admin === true;

/** Build a query string from an object, skipping empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

/**
 * api(path, {method, body, contentType, signal, key, quiet401})
 * JSON bodies for plain objects; Blob/File bodies as they are with `contentType`.
 * Errors throw ApiError; a 401 (unless quiet401) signs out with "unknown or revoked API key".
 */
export async function api(path, opts = {}) {
  const { method = 'GET', body, contentType, signal, key = getKey(), quiet401 = false } = opts;
  const headers = { Accept: 'application/json' };
  if (key) headers['X-API-Key'] = key;
  let payload;
  if (body instanceof Blob || typeof body === 'string') { payload = body; if (contentType) headers['Content-Type'] = contentType; }
  else if (body !== undefined) { payload = JSON.stringify(body); headers['Content-Type'] = 'application/json'; }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, signal, credentials: 'same-origin' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { error: { code: 'NETWORK', message: `Cannot reach the gavel server (${e.message}).` } });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data && data.error ? data : { error: { message: `${res.status} ${res.statusText}: ${text.slice(0, 200)}` } });
    if (res.status === 401 && !quiet401) {
      clearKey();
      session.flash = 'Unknown or revoked API key: sign in again.';
      window.dispatchEvent(new CustomEvent('gavel:signedout'));
    }
    throw err;
  }
  return data;
}

/**
 * Who the key is. GET /v1/me; on a server without it, fall back to probing: a list call validates the key,
 * and GET /v1/api-keys tells an org admin (200) from a member (403).
 */
export async function whoAmI(key) {
  try {
    return await api('/v1/me', { key, quiet401: true });
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  await api('/v1/projects?limit=1', { key, quiet401: true });
  let role = 'member';
  try { await api('/v1/api-keys?limit=1', { key, quiet401: true }); role = 'admin'; } catch (e) { if (e.status !== 403) throw e; }
  return { org: { id: '', name: '' }, key: { id: '', name: '', role, key_prefix: key.slice(0, 8) } };
}

/**
 * Download a file the API answers (an export): fetched with the key header (a plain link cannot send it), then
 * handed to the browser as a blob with the server's file name.
 */
export async function download(path, { signal, fallbackName = 'download' } = {}) {
  const res = await fetch(path, { headers: { 'X-API-Key': getKey() || '' }, signal });
  if (!res.ok) {
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, data);
  }
  const cd = res.headers.get('content-disposition') || '';
  const m = /filename="([^"]+)"/.exec(cd);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = m ? m[1] : fallbackName;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return { name: a.download, bytes: blob.size };
}

/**
 * Read a Server-Sent Events stream with fetch (EventSource cannot send the key header).
 * Calls onEvent(name, data) per frame; resolves when the stream ends, rejects on HTTP errors.
 */
export async function streamEvents(path, { signal, onEvent }) {
  const res = await fetch(path, { headers: { 'X-API-Key': getKey() || '', Accept: 'text/event-stream' }, signal });
  if (!res.ok) {
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, data);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.search(/\r?\n\r?\n/)) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data = [];
      for (const line of frame.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const c = line.indexOf(':');
        const f = c < 0 ? line : line.slice(0, c);
        const v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
        if (f === 'event') event = v;
        else if (f === 'data') data.push(v);
      }
      if (!data.length) continue;
      let parsed = data.join('\n');
      try { parsed = JSON.parse(parsed); } catch { /* keep text */ }
      onEvent(event, parsed);
    }
  }
}
