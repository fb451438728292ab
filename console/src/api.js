// Every call to the service: the API key (kept for this tab only) as Authorization: Bearer, and
// the server's RFC 9457 problem documents turned into readable errors.

const KEY_STORE = 'ordersystem.apiKey';

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORE) || '';
  } catch {
    return '';
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
  } catch {
    // Storage refused (private mode): the key lives until the page reloads.
  }
  memoryKey = key;
}

let memoryKey = '';
const unauthorizedListeners = new Set();

/** Called with the problem whenever the server answers 401 (no key, or a wrong one). */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function authHeaders() {
  const key = apiKey() || memoryKey;
  return key ? { Authorization: `Bearer ${key}` } : {};
}

export class ApiError extends Error {
  constructor(status, title, detail, errors) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = errors || [];
  }
}

async function problemOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's page, say): the status line is all there is.
  }
  const title = (body && body.title) || res.statusText || `HTTP ${res.status}`;
  const detail = body && typeof body.detail === 'string' ? body.detail : '';
  const errors =
    body && Array.isArray(body.errors)
      ? body.errors.map((e) => (e && e.field ? `${e.field}: ${e.message}` : String((e && e.message) || e)))
      : [];
  return new ApiError(res.status, title, detail, errors);
}

/** fetch with the key; resolves to the parsed JSON body, rejects with an ApiError. */
export async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...authHeaders(), ...headers }, signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The service cannot be reached', String(e.message || e));
  }
  if (!res.ok) {
    const problem = await problemOf(res);
    if (res.status === 401) unauthorizedListeners.forEach((l) => l(problem));
    throw problem;
  }
  if (res.status === 204) return null;
  return res.json();
}

export { problemOf };
