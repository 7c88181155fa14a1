/**
 * The one way the CLI talks to the API. Every route the CLI uses is named in
 * ROUTES as "METHOD /path/{param}"; `satisfies` checks each against the types
 * generated from the API's OpenAPI document (api-types.generated.ts), so a
 * route, parameter, body field or response field the API does not document
 * fails `tsc`, and test/cli/api-client.spec.ts checks the generated file is
 * current.
 */
import { randomUUID } from 'node:crypto';
import type { ApiPaths } from './api-types.generated.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Every "METHOD /path" the API documents. */
export type RouteSpec = {
  [P in keyof ApiPaths]: {
    [M in keyof ApiPaths[P] & Method]: `${Uppercase<M>} ${P}`;
  }[keyof ApiPaths[P] & Method];
}[keyof ApiPaths];

export const ROUTES = {
  me: 'GET /me',
  revokeCurrentToken: 'DELETE /me/token',
  listOrgs: 'GET /orgs',
  createOrg: 'POST /orgs',
  getOrg: 'GET /orgs/{org}',
  getBilling: 'GET /orgs/{org}/billing',
  getUsage: 'GET /orgs/{org}/usage',
  listProjects: 'GET /orgs/{org}/projects',
  getProject: 'GET /orgs/{org}/projects/{project}',
  createProject: 'POST /orgs/{org}/projects',
  listDeployments: 'GET /orgs/{org}/projects/{project}/deployments',
  getDeployment: 'GET /orgs/{org}/projects/{project}/deployments/{deployment}',
  createDeployment: 'POST /orgs/{org}/projects/{project}/deployments',
  updateDeployment: 'PATCH /orgs/{org}/projects/{project}/deployments/{deployment}',
  deleteDeployment: 'DELETE /orgs/{org}/projects/{project}/deployments/{deployment}',
  listDeploys: 'GET /orgs/{org}/projects/{project}/deployments/{deployment}/deploys',
  getDeploy: 'GET /orgs/{org}/projects/{project}/deployments/{deployment}/deploys/{deployId}',
  createDeploy: 'POST /orgs/{org}/projects/{project}/deployments/{deployment}/deploys',
  listSchedules: 'GET /orgs/{org}/projects/{project}/deployments/{deployment}/schedules',
  getSchedule: 'GET /orgs/{org}/projects/{project}/deployments/{deployment}/schedules/{schedule}',
  updateSchedule:
    'PATCH /orgs/{org}/projects/{project}/deployments/{deployment}/schedules/{schedule}',
  createRun: 'POST /orgs/{org}/projects/{project}/deployments/{deployment}/runs',
  listRuns: 'GET /orgs/{org}/runs',
  getRun: 'GET /orgs/{org}/runs/{runId}',
  cancelRun: 'POST /orgs/{org}/runs/{runId}/cancel',
  getLogs: 'GET /orgs/{org}/runs/{runId}/logs',
  streamLogs: 'GET /orgs/{org}/runs/{runId}/logs/stream',
  listStates: 'GET /orgs/{org}/projects/{project}/deployments/{deployment}/state',
  getState: 'GET /orgs/{org}/projects/{project}/deployments/{deployment}/state/{stateId}',
  setState: 'PUT /orgs/{org}/projects/{project}/deployments/{deployment}/state/{stateId}',
  clearState: 'DELETE /orgs/{org}/projects/{project}/deployments/{deployment}/state/{stateId}',
  listSecrets: 'GET /orgs/{org}/projects/{project}/secrets',
  putSecret: 'PUT /orgs/{org}/projects/{project}/secrets/{name}',
  deleteSecret: 'DELETE /orgs/{org}/projects/{project}/secrets/{name}',
  listDeploymentSecrets: 'GET /orgs/{org}/projects/{project}/deployments/{deployment}/secrets',
  putDeploymentSecret: 'PUT /orgs/{org}/projects/{project}/deployments/{deployment}/secrets/{name}',
  deleteDeploymentSecret:
    'DELETE /orgs/{org}/projects/{project}/deployments/{deployment}/secrets/{name}',
  listNotifications: 'GET /orgs/{org}/notifications',
  createNotification: 'POST /orgs/{org}/notifications',
  updateNotification: 'PATCH /orgs/{org}/notifications/{id}',
  deleteNotification: 'DELETE /orgs/{org}/notifications/{id}',
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;
type SpecOf<R extends RouteName> = (typeof ROUTES)[R];
type PathOf<R extends RouteName> = SpecOf<R> extends `${string} ${infer P}` ? P : never;
type MethodOf<R extends RouteName> =
  SpecOf<R> extends `${infer M} ${string}` ? Lowercase<M> : never;
export type Operation<R extends RouteName> =
  PathOf<R> extends keyof ApiPaths
    ? MethodOf<R> extends keyof ApiPaths[PathOf<R>]
      ? ApiPaths[PathOf<R>][MethodOf<R>]
      : never
    : never;

export interface MeOut {
  user: { id: string; login: string; name: string | null; email: string | null };
  authenticated_by: string;
}
export interface StateOut {
  state_id: string;
  value: Record<string, unknown>;
  updated_at: string;
}

/**
 * Responses the OpenAPI document leaves undescribed (generated as `unknown`):
 * the CLI states what it relies on here, and the spec checks each is still
 * undocumented (so the entry goes once the API documents it).
 */
export interface UndocumentedResponses {
  me: MeOut;
  listStates: { results: { state_id: string; updated_at: string }[] };
  getState: StateOut;
  setState: StateOut;
  streamLogs: never;
}
export const UNDOCUMENTED_RESPONSES: readonly (keyof UndocumentedResponses)[] = [
  'me',
  'listStates',
  'getState',
  'setState',
  'streamLogs',
];

type Field<O, K extends string> = O extends Record<K, infer V> ? V : never;
export type ResponseOf<R extends RouteName> = R extends keyof UndocumentedResponses
  ? UndocumentedResponses[R]
  : Field<Operation<R>, 'response'>;

type Empty<T> = string extends keyof T ? true : [keyof T] extends [never] ? true : false;
type PathArgs<O> =
  Empty<Field<O, 'path'>> extends true ? { path?: never } : { path: Field<O, 'path'> };
type BodyArgs<O> = [Field<O, 'body'>] extends [never]
  ? { body?: never }
  : { body: Field<O, 'body'> };
export type RequestArgs<R extends RouteName> = PathArgs<Operation<R>> &
  BodyArgs<Operation<R>> & {
    query?: Partial<Field<Operation<R>, 'query'>>;
    headers?: Partial<Field<Operation<R>, 'headers'>>;
    signal?: AbortSignal;
  };

/** A page of a cursor-paginated list. */
export interface Page<T> {
  results: T[];
  pagination: { next_page_token: string | null; page_size: number } | null;
}

export interface FieldError {
  field: string;
  message: string;
}

/** The API answered with an error (problem+json): its detail and the fields at fault. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string | undefined,
    readonly errors: FieldError[],
    readonly url: string,
    readonly requestId?: string,
  ) {
    super(detail ?? title);
  }
}

/** The API could not be reached at all. */
export class NetworkError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`Could not reach ${url}: ${reason}`);
  }
}

export type LogLine = { seq: number; timestamp: string; stream: string; line: string };
export type Run = ResponseOf<'getRun'>;
export type StreamEvent = { type: 'line'; line: LogLine } | { type: 'end'; run: Run };

const USER_AGENT = 'meltano-cloud-cli/0.1.0';
const REQUEST_TIMEOUT_MS = 30_000;
const RETRYABLE_STATUS = new Set([502, 503, 504]);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  };
  if (code) return `${known[code] ?? cause.message ?? 'network error'} (${code})`;
  if (err instanceof Error && err.name === 'TimeoutError')
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  return cause?.message ?? (err instanceof Error ? err.message : String(err));
}

export interface ApiClientOptions {
  baseUrl: string;
  token?: string | undefined;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
  }

  /** The absolute URL of a route with its path parameters filled in and its query. */
  url(route: RouteName, path: Record<string, string> = {}, query: object = {}): string {
    const template = ROUTES[route].split(' ')[1] ?? '';
    const filled = template.replace(/\{(\w+)\}/g, (_m, name: string) => {
      const value = path[name];
      if (value === undefined) throw new Error(`${route}: missing path parameter ${name}`);
      return encodeURIComponent(value);
    });
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
    }
    const qs = search.toString();
    return `${this.baseUrl}${filled}${qs ? `?${qs}` : ''}`;
  }

  async request<R extends RouteName>(route: R, args: RequestArgs<R>): Promise<ResponseOf<R>> {
    const method = ROUTES[route].split(' ')[0] ?? 'GET';
    const url = this.url(route, args.path ?? {}, args.query ?? {});
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      'user-agent': USER_AGENT,
      ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
    };
    for (const [k, v] of Object.entries((args.headers ?? {}) as Record<string, unknown>)) {
      if (typeof v === 'string') headers[k.toLowerCase()] = v;
    }
    if (args.body !== undefined) headers['content-type'] = 'application/json';
    // A POST with an Idempotency-Key (and every GET) may be sent again when the network or a proxy fails.
    const retryable = method === 'GET' || headers['idempotency-key'] !== undefined;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
        res = await fetch(url, {
          method,
          headers,
          body: args.body === undefined ? undefined : JSON.stringify(args.body),
          signal: args.signal ? AbortSignal.any([args.signal, timeout]) : timeout,
        });
      } catch (err) {
        if (args.signal?.aborted) throw err;
        if (retryable && attempt < 3) {
          await sleep(300 * attempt, args.signal);
          continue;
        }
        throw new NetworkError(url, describeCause(err));
      }
      if (retryable && attempt < 3 && RETRYABLE_STATUS.has(res.status)) {
        await res.body?.cancel();
        await sleep(300 * attempt, args.signal);
        continue;
      }
      if (!res.ok) throw await this.toError(res, url);
      if (res.status === 204) return undefined as ResponseOf<R>;
      const text = await res.text();
      if (!text) return undefined as ResponseOf<R>;
      try {
        return JSON.parse(text) as ResponseOf<R>;
      } catch {
        throw new ApiError(
          res.status,
          'Unexpected response',
          `not JSON: ${text.slice(0, 200)}`,
          [],
          url,
        );
      }
    }
  }

  /** Every page of a list (or up to `limit` results). */
  async all<R extends RouteName>(
    route: R,
    args: RequestArgs<R>,
    limit = Infinity,
  ): Promise<ResponseOf<R> extends Page<infer T> ? T[] : never> {
    const out: unknown[] = [];
    let token: string | undefined;
    do {
      const pageSize = Math.min(250, Math.max(1, limit - out.length));
      const page = (await this.request(route, {
        ...args,
        query: { ...(args.query ?? {}), page_size: pageSize, page_token: token },
      } as unknown as RequestArgs<R>)) as unknown as Page<unknown>;
      out.push(...page.results);
      token = page.pagination?.next_page_token ?? undefined;
    } while (token && out.length < limit);
    return out.slice(0, limit) as ResponseOf<R> extends Page<infer T> ? T[] : never;
  }

  /** A new Idempotency-Key for one user action (retries of that action reuse it). */
  static idempotencyKey(): string {
    return `cli-${randomUUID()}`;
  }

  /**
   * Follows a run's log over Server-Sent Events (`line` events, then `end`).
   * Returns when the stream ends; the caller reconnects with the last seq if
   * it ended without `end`.
   */
  async *streamLogs(
    path: { org: string; runId: string },
    afterSeq: number,
    signal: AbortSignal,
  ): AsyncGenerator<StreamEvent> {
    const url = this.url('streamLogs', path, { after_seq: afterSeq });
    let res: Response;
    try {
      res = await fetch(url, {
        headers: {
          accept: 'text/event-stream, application/problem+json',
          'user-agent': USER_AGENT,
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new NetworkError(url, describeCause(err));
    }
    if (!res.ok || !res.body) throw await this.toError(res, url);
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseSseBlock(block);
          if (event) yield event;
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  private async toError(res: Response, url: string): Promise<ApiError> {
    const text = await res.text().catch(() => '');
    const requestId = res.headers.get('x-request-id') ?? undefined;
    try {
      const problem = JSON.parse(text) as {
        title?: string;
        detail?: string;
        message?: string;
        errors?: FieldError[];
      };
      return new ApiError(
        res.status,
        problem.title ?? res.statusText,
        problem.detail ?? problem.message,
        Array.isArray(problem.errors) ? problem.errors : [],
        url,
        requestId,
      );
    } catch {
      return new ApiError(
        res.status,
        res.statusText || `HTTP ${res.status}`,
        text ? text.slice(0, 300) : undefined,
        [],
        url,
        requestId,
      );
    }
  }
}

function parseSseBlock(block: string): StreamEvent | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  const payload = JSON.parse(data.join('\n')) as unknown;
  if (event === 'line') return { type: 'line', line: payload as LogLine };
  if (event === 'end') return { type: 'end', run: payload as Run };
  return null;
}
