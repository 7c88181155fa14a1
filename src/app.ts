import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyCookie from '@fastify/cookie';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { ApiModule } from './app.module.js';
import { AppConfig } from './config/app-config.js';
import { createRootLogger, PinoNestLogger, redactUrl } from './common/logger.js';
import { ProblemFilter } from './common/problem.filter.js';
import {
  BODY_LIMIT,
  ROUTER_MAX_PARAM_LENGTH,
  frameworkErrorProblem,
  installInputGuard,
  jsonParseProblem,
} from './common/input-guard.js';
import { installHtmlSecurityHeaders } from './common/security-headers.js';
import { requestContext } from './common/request-context.js';
import { MetricsService } from './metrics/metrics.service.js';

export interface ApiAppOptions {
  logger?: PinoLogger;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the HTTP API (not listening yet); shared by main.ts, tests and benchmarks. */
export async function createApiApp(
  config: AppConfig,
  options: ApiAppOptions = {},
): Promise<NestFastifyApplication> {
  const root = options.logger ?? createRootLogger(config.logLevel);
  const adapter = new FastifyAdapter({
    logger: false,
    // X-Forwarded-For is believed only from the proxies TRUST_PROXY names (default: nobody).
    trustProxy: config.http.trustProxy,
    bodyLimit: BODY_LIMIT,
    // The input guard refuses parameters past MAX_PARAM_LENGTH with a 400 naming them;
    // the router answers 414 (as problem+json) past this.
    routerOptions: { maxParamLength: ROUTER_MAX_PARAM_LENGTH },
    // Malformed percent-encoding (400) and over-long parameters (414) are answered by the
    // router before any hook: as problem+json too.
    frameworkErrors: frameworkErrorProblem,
    // Honour a caller's X-Request-Id (e.g. from a load balancer) or mint one.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config), adapter, {
    logger: new PinoNestLogger(root),
    bufferLogs: false,
    abortOnError: false,
    // Webhook signatures (GitHub, Stripe) are computed over the exact bytes received.
    rawBody: true,
  });
  await app.register(fastifyCookie);
  const fastify = app.getHttpAdapter().getInstance();
  // JSON parse errors (invalid, empty, __proto__ / constructor.prototype keys) name `body`.
  const defaultJsonParser = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser('application/json', { bodyLimit: BODY_LIMIT }, (req, body, done) => {
    const text = body.toString('utf8');
    void defaultJsonParser(req as FastifyRequest, text, (err, parsed) => {
      if (err) done(jsonParseProblem(err, text), undefined);
      else done(null, parsed);
    });
  });
  installInputGuard(fastify);
  installHtmlSecurityHeaders(fastify);
  const metrics = app.get(MetricsService);
  const httpLog = root.child({ context: 'http' });

  // Everything that runs for this request runs inside its context, so any log line carries its id.
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    // passport writes Express-style responses (its OAuth redirect); give Fastify replies those two methods.
    const expressLike = reply as unknown as {
      setHeader(k: string, v: string): void;
      end(body?: string): void;
    };
    expressLike.setHeader = (k, v) => void reply.header(k, v);
    expressLike.end = (body) => void reply.send(body);
    requestContext.run({ requestId: req.id }, done);
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpDuration.observe(
      { method: req.method, route, status: String(reply.statusCode) },
      seconds,
    );
    if (route !== '/healthz' && route !== '/metrics') {
      httpLog.info(
        {
          request_id: req.id,
          method: req.method,
          route,
          url: redactUrl(req.url),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
        },
        'request',
      );
    }
    done();
  });

  app.useGlobalFilters(new ProblemFilter());
  app.enableShutdownHooks();
  setupOpenApi(app, config);
  return app;
}

export function buildOpenApiDocument(
  app: NestFastifyApplication,
  config: AppConfig,
): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('meltano-cloud API')
    .setDescription(
      'Run Meltano projects from GitHub on schedule. Errors are `application/problem+json` (RFC 9457); ' +
        'lists are cursor-paginated with `page_size` and `page_token`.',
    )
    .setVersion('1')
    .addServer(config.http.publicUrl)
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'Personal API token (mc_pat_...)' },
      'token',
    )
    .addCookieAuth('mc_session', { type: 'apiKey', in: 'cookie', name: 'mc_session' }, 'session')
    .addSecurityRequirements('token')
    .addSecurityRequirements('session');
  return SwaggerModule.createDocument(app, builder.build());
}

function setupOpenApi(app: NestFastifyApplication, config: AppConfig): void {
  const document = buildOpenApiDocument(app, config);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
}
