import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type Logger as PinoLogger, type Level } from 'pino';
import { requestContext } from './request-context.js';

/**
 * Structured JSON logs. Every line carries the request id (or job id) of the
 * work it belongs to, read from the async context rather than passed around.
 */
export function createRootLogger(level: string, destination?: NodeJS.WritableStream): PinoLogger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => {
        const ctx = requestContext.getStore();
        return ctx
          ? { request_id: ctx.requestId, ...(ctx.jobId ? { job_id: ctx.jobId } : {}) }
          : {};
      },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.token',
          '*.password',
          '*.secret',
        ],
        censor: '[redacted]',
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}

const nestToPino: Record<LogLevel, Level> = {
  log: 'info',
  error: 'error',
  warn: 'warn',
  debug: 'debug',
  verbose: 'trace',
  fatal: 'fatal',
};

/** Routes NestJS's own logging (and `new Logger(ctx)` in services) into pino. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: PinoLogger) {}

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    const context = typeof rest.at(-1) === 'string' ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    if (level === 'error' && typeof rest[0] === 'string' && rest[0].includes('\n'))
      fields.stack = rest[0];
    if (message instanceof Error) {
      this.root[nestToPino[level]]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.root[nestToPino[level]]({ ...fields, ...message });
    } else {
      this.root[nestToPino[level]](fields, String(message));
    }
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }
}

/** Query parameters whose values never reach a log line (OAuth codes, states, tokens, secrets). */
const SECRET_QUERY_PARAM =
  /^(?:code|state|token|access_token|refresh_token|id_token|client_secret|csrf_token|password|secret|api_key|signature|sig)$|secret|password|token$/i;
const NEVER_SECRET = new Set(['page_token']);

/** The URL with the values of secret-looking query parameters replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const pairs = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const rawName = pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // an undecodable name is compared as sent
      }
      return SECRET_QUERY_PARAM.test(name) && !NEVER_SECRET.has(name)
        ? `${rawName}=[redacted]`
        : pair;
    });
  return `${url.slice(0, q)}?${pairs.join('&')}`;
}
