import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { unavailableDependency } from './db-errors.js';
import { PROBLEM_BASE, ProblemException, type ProblemDocument } from './problem.js';
import { currentRequestId } from './request-context.js';

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Seconds a client should wait before retrying while PostgreSQL or Redis is unreachable. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

const unavailableDetail: Record<string, string> = {
  database: 'The database is unreachable or restarting. Retry shortly.',
  redis: 'The queue (Redis) is unreachable or restarting. Retry shortly.',
  dependency: 'A service this API depends on is unreachable. Retry shortly.',
};

const typeForStatus = (status: number): string =>
  (titles[status] ?? 'error').toLowerCase().replace(/\s+/g, '-');

/** Renders every error as `application/problem+json` (RFC 9457); 5xx details never leak. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const body = this.toProblem(exception, request);
    const unavailable = body.type === PROBLEM_BASE + 'dependency-unavailable';
    if (unavailable)
      // An outage, not a bug: logged once per request, without the stack.
      this.logger.warn(
        `${String(body.dependency)} unavailable: ${exception instanceof Error ? exception.message : String(exception)}`,
      );
    else if (body.status >= 500)
      this.logger.error(exception instanceof Error ? exception : String(exception));
    const headers =
      exception instanceof ProblemException
        ? exception.extensions.headers
        : unavailable
          ? { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) }
          : undefined;
    if (headers && typeof headers === 'object') {
      for (const [k, v] of Object.entries(headers as Record<string, string>))
        void reply.header(k, v);
    }
    void reply.status(body.status).header('content-type', 'application/problem+json').send(body);
  }

  toProblem(exception: unknown, request: FastifyRequest): ProblemDocument {
    const base = {
      instance: request.url.split('?')[0],
      request_id: currentRequestId() ?? String(request.id),
    };
    if (exception instanceof ProblemException) {
      const status = exception.getStatus();
      const { headers: _headers, ...extensions } = exception.extensions;
      return {
        type: PROBLEM_BASE + exception.problemType,
        title: titles[status] ?? 'Error',
        status,
        detail: exception.message,
        ...base,
        ...(exception.errors ? { errors: exception.errors } : {}),
        ...extensions,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const detail =
        typeof response === 'string'
          ? response
          : typeof (response as { message?: unknown }).message === 'string'
            ? (response as { message: string }).message
            : exception.message;
      return {
        type: PROBLEM_BASE + typeForStatus(status),
        title: titles[status] ?? 'Error',
        status,
        detail,
        ...base,
      };
    }
    // Fastify's own errors (body too large, bad JSON, wrong content type) carry a statusCode.
    const statusCode = (exception as { statusCode?: unknown }).statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      const message = exception instanceof Error ? exception.message : 'Bad request';
      return {
        type: PROBLEM_BASE + typeForStatus(statusCode),
        title: titles[statusCode] ?? 'Error',
        status: statusCode,
        detail: message,
        ...base,
        // The body is what Fastify refused (malformed, too large, of a type no parser takes).
        ...([400, 413, 415].includes(statusCode) ? { errors: [{ field: 'body', message }] } : {}),
      };
    }
    // PostgreSQL or Redis down, restarting or shutting down: the client may retry (503 + Retry-After).
    const dependency = unavailableDependency(exception);
    if (dependency) {
      return {
        type: PROBLEM_BASE + 'dependency-unavailable',
        title: titles[503] ?? 'Service Unavailable',
        status: HttpStatus.SERVICE_UNAVAILABLE,
        detail: unavailableDetail[dependency],
        ...base,
        dependency,
        retry_after_seconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
      };
    }
    return {
      type: PROBLEM_BASE + 'internal-error',
      title: titles[500] ?? 'Internal Server Error',
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      detail: 'Something went wrong on our side. Quote the request id when reporting it.',
      ...base,
    };
  }
}
