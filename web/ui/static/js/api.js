// API access. Paths are relative to the page so the console works under a
// path prefix. Every write carries the CSRF header the appliance requires.

export class APIError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function url(path, params) {
  const u = new URL(path, document.baseURI);
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined || v === null || v === '') continue;
      if (Array.isArray(v)) v.forEach((x) => u.searchParams.append(k, x));
      else u.searchParams.set(k, v);
    }
  }
  return u;
}

async function decode(resp) {
  const text = await resp.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!resp.ok || (body && body.status === 'error')) {
    let msg = (body && (body.error || body.message)) || (typeof body === 'string' ? body : text.trim()) || resp.statusText;
    if (body && body.errorType) msg = body.errorType + ': ' + msg;
    throw new APIError(`${resp.status} ${msg}`, resp.status);
  }
  return body;
}

// get fetches JSON; Prometheus-style answers are unwrapped to their data.
export async function get(path, params, opts) {
  const resp = await fetch(url(path, params), { headers: { Accept: 'application/json' }, signal: opts && opts.signal });
  const body = await decode(resp);
  if (body && typeof body === 'object' && !Array.isArray(body) && body.status === 'success' && 'data' in body) return body.data;
  return body;
}

// send performs a write (POST, DELETE) with the CSRF header.
export async function send(method, path, body) {
  const headers = { 'X-Requested-With': 'smm-appliance-ui', Accept: 'application/json' };
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const out = await decode(await fetch(url(path), init));
  if (out && typeof out === 'object' && out.status === 'success' && 'data' in out) return out.data;
  return out;
}

export const promAPI = 'api/v1/';
export const amAPI = 'alertmanager/api/v2/';
export const applianceAPI = 'api/v1/appliance/';
