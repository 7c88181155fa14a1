// Same-origin calls to the REST API with the session cookie. State-changing
// requests carry the CSRF token that GET /me hands to browser sessions.

let csrfToken = null;

/** An RFC 9457 problem from the API; `errors` lists bad fields ({field, message}). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `Request failed (HTTP ${status})`);
    this.status = status;
    this.problem = problem ?? {};
    this.errors = Array.isArray(problem?.errors) ? problem.errors : [];
  }
}

/** Off to the sign-in page, coming back to where we are. */
export function signIn() {
  location.assign('/login?return_to=' + encodeURIComponent('/' + location.hash));
}

export async function api(method, url, body, headers = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...headers },
  };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) init.headers['x-csrf-token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, init);
  } catch {
    throw new ApiError(0, { title: 'The server could not be reached. Check your connection.' });
  }
  if (res.status === 401) {
    signIn();
    throw new ApiError(401, { title: 'Signing in again…' });
  }
  if (res.status === 204) return null;
  const isJson = (res.headers.get('content-type') ?? '').includes('json');
  const data = isJson ? await res.json() : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (url) => api('GET', url);
export const post = (url, body, headers) => api('POST', url, body ?? {}, headers);
export const put = (url, body) => api('PUT', url, body);
export const patch = (url, body) => api('PATCH', url, body);
export const del = (url) => api('DELETE', url);

/** The signed-in user; remembers the CSRF token. A 401 sends the browser to /login. */
export async function loadMe() {
  const me = await get('/me');
  csrfToken = me.csrf_token ?? null;
  return me;
}

export async function signOut() {
  await post('/auth/logout').catch(() => undefined);
  location.assign('/login');
}

/** Builds a path with each interpolated value URL-encoded: u`/orgs/${slug}/runs`. */
export function u(strings, ...values) {
  return strings.reduce(
    (out, s, i) => out + s + (i < values.length ? encodeURIComponent(values[i]) : ''),
    '',
  );
}

/** `?a=1&b=2` from an object, leaving out empty values. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Roles are cumulative (viewer < member < admin < owner), as in src/organizations/permissions.ts. */
const RANK = { viewer: 0, member: 1, admin: 2, owner: 3 };
const NEEDS = {
  'run:write': 1,
  'schedule:toggle': 1,
  'project:write': 2,
  'deployment:write': 2,
  'secret:write': 2,
  'member:write': 2,
  'audit:read': 2,
  'notification:write': 2,
  'billing:read': 0,
};
export const can = (role, permission) => (RANK[role] ?? -1) >= (NEEDS[permission] ?? 3);
