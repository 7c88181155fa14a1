import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpStatus } from '@nestjs/common';
import { PROBLEM_BASE, ProblemException, validationFailed, type FieldError } from './problem.js';

/**
 * Checks every request gets before any route sees it (one place, not route by
 * route): path parameters and query values free of control characters and of
 * a sane length, bodies only in the media types the route takes, JSON bodies
 * without NUL characters (PostgreSQL cannot store them) and not nested deeper
 * than anything this API stores. Each refusal is a 4xx problem naming the
 * field (`path.<name>`, `query.<name>`, `body.<field>`).
 */

/** Longest path parameter (a secret name, schedule name or Meltano state id) accepted. */
export const MAX_PARAM_LENGTH = 500;
/** Fastify's router answers 414 past this (the check above answers 400 before it). */
export const ROUTER_MAX_PARAM_LENGTH = 1000;
/** Deepest nesting of objects/arrays accepted in a JSON body. */
export const MAX_JSON_DEPTH = 64;
/** Largest request body, in bytes. */
export const BODY_LIMIT = 1024 * 1024;

// C0 controls and DEL: no identifier or query value of this API contains them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const NUL = '\u0000';

/** Route config flag (see `AcceptsFormBody`): the route also takes HTML form posts. */
export interface HardenedRouteConfig {
  acceptsFormBody?: boolean;
}

export const mediaTypeOf = (header: unknown): string | undefined =>
  typeof header === 'string' && header.trim() !== ''
    ? (header.split(';')[0] ?? '').trim().toLowerCase()
    : undefined;

const describeChar = (s: string): string => {
  const c = CONTROL.exec(s)?.[0] ?? '';
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
};

export function pathParamErrors(params: unknown): FieldError[] {
  const errors: FieldError[] = [];
  if (!params || typeof params !== 'object') return errors;
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
    if (typeof value !== 'string') continue;
    if (CONTROL.test(value)) {
      errors.push({
        field: `path.${name}`,
        message: `must not contain control characters (found ${describeChar(value)})`,
      });
    } else if (value.length > MAX_PARAM_LENGTH) {
      errors.push({
        field: `path.${name}`,
        message: `is too long (at most ${MAX_PARAM_LENGTH} characters)`,
      });
    }
  }
  return errors;
}

export function queryErrors(query: unknown): FieldError[] {
  const errors: FieldError[] = [];
  if (!query || typeof query !== 'object') return errors;
  for (const [name, value] of Object.entries(query as Record<string, unknown>)) {
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    if (CONTROL.test(name)) {
      errors.push({
        field: 'query',
        message: 'parameter names must not contain control characters',
      });
      continue;
    }
    const bad = values.find((v) => typeof v === 'string' && CONTROL.test(v));
    if (typeof bad === 'string') {
      errors.push({
        field: `query.${name}`,
        message: `must not contain control characters (found ${describeChar(bad)})`,
      });
    }
  }
  return errors;
}

/**
 * NUL characters anywhere in a parsed body (strings and keys) and nesting past
 * MAX_JSON_DEPTH. Iterative, so no depth of input can overflow the stack.
 */
export function bodyErrors(body: unknown): FieldError[] {
  const errors: FieldError[] = [];
  // [value, field path, depth, the top-level field it is under]
  const stack: [unknown, string, number, string][] = [[body, 'body', 0, 'body']];
  while (stack.length > 0 && errors.length < 20) {
    const [value, field, depth, top] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes(NUL))
        errors.push({ field, message: 'must not contain NUL characters (\\u0000)' });
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      errors.push({
        field: top,
        message: `is nested too deeply (at most ${MAX_JSON_DEPTH} levels of objects and arrays)`,
      });
      break;
    }
    const entries: [string, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [String(i), v])
      : Object.entries(value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      const childField = `${field}.${key.replaceAll(NUL, '\\u0000')}`;
      if (key.includes(NUL)) {
        errors.push({
          field: childField,
          message: 'keys must not contain NUL characters (\\u0000)',
        });
        continue;
      }
      stack.push([child, childField, depth + 1, depth === 0 ? childField : top]);
    }
  }
  return errors;
}

const unsupportedMediaType = (type: string, accepted: string[]): ProblemException =>
  new ProblemException(
    HttpStatus.UNSUPPORTED_MEDIA_TYPE,
    'unsupported-media-type',
    `This route takes ${accepted.join(' or ')} bodies, not ${type}.`,
    [{ field: 'body', message: `must be sent as ${accepted.join(' or ')}` }],
  );

const hasBody = (body: unknown): boolean =>
  body !== undefined && body !== null && !(typeof body === 'string' && body === '');

/** The checks above, for one request; throws the problem to answer with. */
export function checkRequest(req: FastifyRequest): void {
  const pathErrors = pathParamErrors(req.params);
  if (pathErrors.length) throw validationFailed(pathErrors);
  const qErrors = queryErrors(req.query);
  if (qErrors.length) throw validationFailed(qErrors);
  if (!hasBody(req.body)) return;
  const type = mediaTypeOf(req.headers['content-type']) ?? 'a body without a type';
  const config = (req.routeOptions.config ?? {}) as HardenedRouteConfig;
  const accepted = config.acceptsFormBody
    ? ['application/json', 'application/x-www-form-urlencoded']
    : ['application/json'];
  if (!accepted.includes(type)) throw unsupportedMediaType(type, accepted);
  const errors = bodyErrors(req.body);
  if (errors.length) throw validationFailed(errors);
}

/** Fastify's JSON parse errors as problems naming `body` (not plain 400s). */
export function jsonParseProblem(err: Error & { code?: string }, text: string): ProblemException {
  let message = 'is not valid JSON';
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || text.trim() === '') {
    message = 'is empty: send a JSON document';
  } else {
    try {
      JSON.parse(text);
      // Valid JSON that the safe parser refused: it has a prototype-polluting key.
      message = 'must not contain the keys __proto__ or constructor.prototype';
    } catch {
      // not JSON at all
    }
  }
  return validationFailed([{ field: 'body', message }], 'The request body is not valid JSON.');
}

/**
 * Errors Fastify's router answers before any hook or filter runs (a malformed
 * percent-encoding: 400; a parameter past ROUTER_MAX_PARAM_LENGTH: 414), as
 * problem+json like every other error.
 */
export function frameworkErrorProblem(
  error: Error & { code?: string; statusCode?: number },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const status = tooLong ? 414 : (error.statusCode ?? 400);
  const detail = tooLong
    ? `A path parameter is longer than ${ROUTER_MAX_PARAM_LENGTH} characters.`
    : error.code === 'FST_ERR_BAD_URL'
      ? 'The URL path is not validly percent-encoded.'
      : 'The request could not be routed.';
  const field: FieldError = {
    field: 'path',
    message: tooLong ? 'is too long' : 'is not a valid URL component',
  };
  const url = typeof request.raw.url === 'string' ? request.raw.url : '';
  void reply
    .status(status)
    .header('content-type', 'application/problem+json')
    .header('x-request-id', String(request.id))
    .send({
      type: PROBLEM_BASE + (tooLong ? 'uri-too-long' : 'bad-request'),
      title: tooLong ? 'URI Too Long' : 'Bad Request',
      status,
      detail,
      instance: (url.split('?')[0] ?? '').slice(0, 200),
      request_id: String(request.id),
      errors: [field],
    });
}

/** Installs the checks on every route (before validation, after the body is parsed). */
export function installInputGuard(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (req, _reply, done) => {
    try {
      checkRequest(req);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  });
}
