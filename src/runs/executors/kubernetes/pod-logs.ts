/**
 * Reading a container's log with a raw request (not client-node's `Log`,
 * which pipes the body without telling when the connection drops): lines are
 * split on '\n' and carry the kubelet's timestamp (`timestamps=true`).
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface PodLogEntry {
  line: string;
  timestamp: Date;
  /** Fixed-width form of the kubelet timestamp (nanoseconds): orders lines, finds repeats after a reconnect. */
  key: string;
}

export interface PodLogRequest {
  namespace: string;
  pod: string;
  container: string;
  follow: boolean;
  sinceTime?: string;
  tailLines?: number;
}

/** Thrown when the API answers a log request with an error Status. */
export class PodLogError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

/** Parses `<RFC3339Nano timestamp> <text>` as the kubelet writes it. */
export function parseLogLine(raw: string): PodLogEntry {
  const space = raw.indexOf(' ');
  const match = TIMESTAMP.exec(space === -1 ? raw : raw.slice(0, space));
  if (!match) return { line: raw, timestamp: new Date(), key: '' };
  const [, seconds = '', fraction = ''] = match;
  const nanos = fraction.padEnd(9, '0');
  return {
    line: space === -1 ? '' : raw.slice(space + 1),
    timestamp: new Date(`${seconds}.${nanos.slice(0, 3)}Z`),
    key: `${seconds}.${nanos}Z`,
  };
}

/** The key of a moment, comparable with entries' keys. */
export function timestampKey(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000000Z`;
}

/** `sinceTime` for resuming after `key`: whole seconds, so the resumed stream starts at or before it. */
export function sinceTimeFor(key: string): string {
  return `${key.slice(0, 19)}Z`;
}

/**
 * Streams a container's log to `onEntry`. Resolves when the stream ends
 * (container done, connection dropped or `signal` aborted: callers tell these
 * apart by looking at the Pod); rejects when the request is refused.
 * A partial last line is delivered only when the stream ended cleanly.
 */
export async function streamPodLog(
  kubeConfig: KubeConfig,
  request: PodLogRequest,
  onEntry: (entry: PodLogEntry) => void,
  signal: AbortSignal,
): Promise<void> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the Kubernetes configuration has no current cluster');
  const url = new URL(
    `${cluster.server.replace(/\/+$/, '')}/api/v1/namespaces/${encodeURIComponent(request.namespace)}` +
      `/pods/${encodeURIComponent(request.pod)}/log`,
  );
  url.searchParams.set('container', request.container);
  url.searchParams.set('follow', String(request.follow));
  url.searchParams.set('timestamps', 'true');
  if (request.sinceTime) url.searchParams.set('sinceTime', request.sinceTime);
  if (request.tailLines !== undefined) url.searchParams.set('tailLines', String(request.tailLines));

  // Agent (TLS settings) and Authorization header, as the generated API clients get them.
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  if (signal.aborted) return;

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      if (error && !signal.aborted) reject(error);
      else resolve();
    };
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, { ...options, method: 'GET', signal });
    req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
    req.on('error', (error) => settle(error));
    req.on('response', (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => settle(new PodLogError(res.statusCode ?? 0, statusMessage(body))));
        res.on('error', () =>
          settle(new PodLogError(res.statusCode ?? 0, `HTTP ${res.statusCode}`)),
        );
        return;
      }
      let pending = '';
      res.on('data', (chunk: string) => {
        pending += chunk;
        let newline: number;
        while (!settled && (newline = pending.indexOf('\n')) !== -1) {
          const raw = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          onEntry(parseLogLine(raw));
        }
      });
      res.on('end', () => {
        if (pending !== '' && !settled) onEntry(parseLogLine(pending));
        settle();
      });
      // A dropped connection: no 'end'; the caller reconnects if the container still runs.
      res.on('close', () => settle());
      res.on('error', () => settle());
    });
    req.end();
  });
}

function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // not a Status object
  }
  return body.slice(0, 500);
}
