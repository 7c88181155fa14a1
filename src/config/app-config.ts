import { z } from 'zod';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The one place that reads process.env. Every variable is declared here,
 * validated at boot, and documented in .env.example. Optional integrations
 * (GitHub OAuth, GitHub App, Stripe, Kubernetes, SMTP) are switched on by
 * their own variables and validated only when switched on.
 */

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));
const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
const url = (fallback?: string) => (fallback ? z.url().default(fallback) : z.url());

/** proxy-addr's names for address ranges, accepted in TRUST_PROXY. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(entry: string): boolean {
  if (PROXY_RANGES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: whose X-Forwarded-For / -Proto / -Host to believe (Fastify's
 * `trustProxy`). Off by default: the client address is the socket's. `true`
 * trusts any peer (only behind a proxy that overwrites the header); otherwise
 * a comma-separated list of proxy addresses, CIDRs or loopback, linklocal,
 * uniquelocal.
 */
const trustProxy = z
  .string()
  .optional()
  .transform((raw, ctx): boolean | string[] => {
    const v = (raw ?? '').trim();
    if (v === '' || v === 'false') return false;
    if (v === 'true') return true;
    const entries = v.split(',').map((e) => e.trim());
    const bad = entries.filter((e) => !isAddressOrCidr(e));
    if (bad.length) {
      ctx.addIssue({
        code: 'custom',
        message: `must be true, false or a comma-separated list of proxy addresses/CIDRs (loopback, linklocal, uniquelocal allowed); not ${bad.join(', ')}`,
      });
      return z.NEVER;
    }
    return entries;
  });

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().default('127.0.0.1'),
    PORT: int(3000, 0, 65535),
    PUBLIC_URL: optionalString.pipe(z.url().optional()),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    DATABASE_URL: url('postgresql://root@127.0.0.1:5432/meltano_cloud'),
    REDIS_URL: url('redis://127.0.0.1:6379'),
    REDIS_PREFIX: z
      .string()
      // Braces make a Redis Cluster hash tag ({mc}): every key of the service in one slot, as BullMQ needs.
      .regex(/^[A-Za-z0-9_:{}-]+$/, 'letters, digits, _ : - { } only')
      .default('mc'),
    SESSION_SECRET: optionalString.pipe(
      z.string().min(32, 'must be at least 32 characters').optional(),
    ),
    MASTER_KEY: optionalString.pipe(
      z
        .string()
        .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
        .optional(),
    ),
    MASTER_KEY_ID: z.string().default('local-1'),
    PREVIOUS_MASTER_KEYS: optionalString,
    DEV_LOGIN_ENABLED: optionalString,
    SHUTDOWN_TIMEOUT_MS: int(30_000, 0),
    RATE_LIMIT_PER_MINUTE: int(600, 1),
    TRUST_PROXY: trustProxy,
    METRICS_TOKEN: optionalString,
    GITHUB_WEB_URL: url('https://github.com'),
    GITHUB_API_URL: url('https://api.github.com'),
    GITHUB_OAUTH_CLIENT_ID: optionalString,
    GITHUB_OAUTH_CLIENT_SECRET: optionalString,
    GITHUB_APP_ID: optionalString,
    GITHUB_APP_SLUG: optionalString,
    GITHUB_APP_PRIVATE_KEY: optionalString,
    GITHUB_APP_WEBHOOK_SECRET: optionalString,
    STRIPE_SECRET_KEY: optionalString,
    STRIPE_API_URL: url('https://api.stripe.com'),
    STRIPE_WEBHOOK_SECRET: optionalString,
    STRIPE_PRICE_ID: optionalString,
    // billing (issue 11)
    STRIPE_METER_EVENT_NAME: optionalString,
    STRIPE_WEBHOOK_TOLERANCE_SECONDS: int(300, 1, 86_400),
    BILLING_GRACE_DAYS: int(7, 0, 90),
    EXECUTOR: z.enum(['local', 'kubernetes']).default('local'),
    WORKER_CONCURRENCY: int(5, 1, 500),
    // Ticks are cheap (they wait on their batch): the schedules queue takes a batch's worth at
    // once. More is slower, for raw BullMQ too (bench/RESULTS.md, `--tick-concurrency`).
    WORKER_TICK_CONCURRENCY: int(1000, 1, 10_000),
    WORKER_QUEUES: optionalString.pipe(
      z
        .string()
        .regex(/^[a-z]+(,[a-z]+)*$/, 'a comma-separated list of queue names')
        .optional(),
    ),
    WORKER_METRICS_PORT: int(9464, 0, 65535),
    WORKER_METRICS_HOST: z.string().default('0.0.0.0'),
    WORKER_ID: optionalString,
    RUN_WORKDIR: optionalString,
    MELTANO_BIN: z.string().default('meltano'),
    // Installed plugins kept between runs of a deployment (local executor); off: every run installs.
    PLUGIN_CACHE: bool(true),
    PLUGIN_CACHE_DIR: optionalString,
    GIT_BIN: z.string().default('git'),
    // Passed on to git and pipeline processes (and nothing else of the worker's environment).
    PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
    HOME: optionalString,
    LANG: z.string().default('C.UTF-8'),
    K8S_API_URL: optionalString.pipe(z.url().optional()),
    K8S_NAMESPACE: z.string().default('meltano-runs'),
    K8S_TOKEN: optionalString,
    K8S_CA_FILE: optionalString,
    K8S_SKIP_TLS_VERIFY: bool(false),
    K8S_MELTANO_IMAGE: z.string().default('meltano/meltano:v3.7-python3.12'),
    K8S_GIT_IMAGE: z.string().default('alpine/git:2.47.2'),
    K8S_RUN_CPU: z.string().default('1'),
    K8S_RUN_MEMORY: z.string().default('2Gi'),
    K8S_JOB_TTL_SECONDS: int(3600, 0),
    // ReadWriteMany PersistentVolumeClaim keeping installed plugins between runs (optional).
    K8S_PLUGIN_CACHE_PVC: optionalString.pipe(
      z
        .string()
        .regex(
          /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
          'must be a PersistentVolumeClaim name',
        )
        .max(253)
        .optional(),
    ),
    // The API as run Pods reach it over the cluster network (managed Meltano state), e.g. http://meltano-cloud-api.meltano-cloud.svc:3000
    K8S_STATE_API_URL: optionalString.pipe(z.url().optional()),
    SMTP_URL: optionalString.pipe(z.url().optional()),
    MAIL_FROM: z.string().default('meltano-cloud <noreply@localhost>'),
    NOTIFICATION_ALLOW_PRIVATE_TARGETS: optionalString,
  })
  .superRefine((env, ctx) => {
    const need = (keys: (keyof typeof env)[], why: string): void => {
      for (const key of keys) {
        if (env[key] === undefined)
          ctx.addIssue({ code: 'custom', path: [key], message: `required ${why}` });
      }
    };
    if (env.GITHUB_OAUTH_CLIENT_ID || env.GITHUB_OAUTH_CLIENT_SECRET) {
      need(
        ['GITHUB_OAUTH_CLIENT_ID', 'GITHUB_OAUTH_CLIENT_SECRET'],
        'when GitHub sign-in is configured',
      );
    }
    if (env.GITHUB_APP_ID || env.GITHUB_APP_PRIVATE_KEY || env.GITHUB_APP_WEBHOOK_SECRET) {
      need(
        ['GITHUB_APP_ID', 'GITHUB_APP_SLUG', 'GITHUB_APP_PRIVATE_KEY', 'GITHUB_APP_WEBHOOK_SECRET'],
        'when the GitHub App is configured (GITHUB_APP_ID set)',
      );
      if (env.GITHUB_APP_PRIVATE_KEY && !env.GITHUB_APP_PRIVATE_KEY.includes('PRIVATE KEY')) {
        ctx.addIssue({
          code: 'custom',
          path: ['GITHUB_APP_PRIVATE_KEY'],
          message: 'must be a PEM private key',
        });
      }
    }
    if (env.STRIPE_SECRET_KEY)
      need(
        ['STRIPE_WEBHOOK_SECRET', 'STRIPE_PRICE_ID', 'STRIPE_METER_EVENT_NAME'],
        'when Stripe is configured (STRIPE_SECRET_KEY set)',
      );
    if (env.STRIPE_PRICE_ID && !env.STRIPE_PRICE_ID.startsWith('price_'))
      ctx.addIssue({
        code: 'custom',
        path: ['STRIPE_PRICE_ID'],
        message: 'must be a price id (price_…)',
      });
    if (
      env.STRIPE_METER_EVENT_NAME &&
      !/^[A-Za-z0-9_.:-]{1,100}$/.test(env.STRIPE_METER_EVENT_NAME)
    )
      ctx.addIssue({
        code: 'custom',
        path: ['STRIPE_METER_EVENT_NAME'],
        message: "must be the meter's event name (letters, digits, _ . : -)",
      });
    if (env.EXECUTOR === 'kubernetes') need(['K8S_API_URL'], 'when EXECUTOR=kubernetes');
    if (env.NODE_ENV === 'production') {
      need(['SESSION_SECRET', 'MASTER_KEY', 'PUBLIC_URL'], 'in production');
      if (env.DEV_LOGIN_ENABLED === 'true') {
        ctx.addIssue({
          code: 'custom',
          path: ['DEV_LOGIN_ENABLED'],
          message: 'the development sign-in cannot be enabled when NODE_ENV=production',
        });
      }
    }
    if (env.DEV_LOGIN_ENABLED && !['true', 'false'].includes(env.DEV_LOGIN_ENABLED)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DEV_LOGIN_ENABLED'],
        message: 'must be true or false',
      });
    }
  });

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      'Invalid configuration:\n' +
        problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** A fixed development-only secret so local runs need no setup; production must set its own. */
const devSecret = (purpose: string): Buffer =>
  createHash('sha256').update(`meltano-cloud-development-${purpose}`).digest();

function toConfig(env: Env) {
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '');
  return {
    nodeEnv: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    http: {
      host: env.HOST,
      port: env.PORT,
      publicUrl,
      rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
      /** Fastify's `trustProxy`: false, true or the trusted proxies' addresses/CIDRs. */
      trustProxy: env.TRUST_PROXY,
      metricsToken: env.METRICS_TOKEN,
    },
    logLevel: env.LOG_LEVEL,
    databaseUrl: env.DATABASE_URL,
    redis: { url: env.REDIS_URL, prefix: env.REDIS_PREFIX },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    auth: {
      sessionSecret: env.SESSION_SECRET ? Buffer.from(env.SESSION_SECRET) : devSecret('session'),
      devLoginEnabled: env.DEV_LOGIN_ENABLED
        ? env.DEV_LOGIN_ENABLED === 'true'
        : env.NODE_ENV !== 'production',
      githubOAuth:
        env.GITHUB_OAUTH_CLIENT_ID && env.GITHUB_OAUTH_CLIENT_SECRET
          ? { clientId: env.GITHUB_OAUTH_CLIENT_ID, clientSecret: env.GITHUB_OAUTH_CLIENT_SECRET }
          : undefined,
    },
    encryption: {
      masterKey: env.MASTER_KEY ? Buffer.from(env.MASTER_KEY, 'base64') : devSecret('master-key'),
      masterKeyId: env.MASTER_KEY_ID,
      /** `id:base64key` pairs, comma separated: keys still accepted for unwrapping during rotation. */
      previousMasterKeys: (env.PREVIOUS_MASTER_KEYS ?? '')
        .split(',')
        .filter(Boolean)
        .map((pair) => {
          const [id, key] = pair.split(':');
          return { id: id ?? '', key: Buffer.from(key ?? '', 'base64') };
        }),
    },
    github: {
      webUrl: env.GITHUB_WEB_URL.replace(/\/$/, ''),
      apiUrl: env.GITHUB_API_URL.replace(/\/$/, ''),
      app:
        env.GITHUB_APP_ID &&
        env.GITHUB_APP_SLUG &&
        env.GITHUB_APP_PRIVATE_KEY &&
        env.GITHUB_APP_WEBHOOK_SECRET
          ? {
              appId: env.GITHUB_APP_ID,
              slug: env.GITHUB_APP_SLUG,
              privateKey: env.GITHUB_APP_PRIVATE_KEY.replace(/\\n/g, '\n'),
              webhookSecret: env.GITHUB_APP_WEBHOOK_SECRET,
            }
          : undefined,
    },
    stripe:
      env.STRIPE_SECRET_KEY &&
      env.STRIPE_WEBHOOK_SECRET &&
      env.STRIPE_PRICE_ID &&
      env.STRIPE_METER_EVENT_NAME
        ? {
            secretKey: env.STRIPE_SECRET_KEY,
            apiUrl: env.STRIPE_API_URL,
            webhookSecret: env.STRIPE_WEBHOOK_SECRET,
            priceId: env.STRIPE_PRICE_ID,
            meterEventName: env.STRIPE_METER_EVENT_NAME,
            webhookToleranceSeconds: env.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
          }
        : undefined,
    billing: { graceDays: env.BILLING_GRACE_DAYS },
    worker: {
      concurrency: env.WORKER_CONCURRENCY,
      tickConcurrency: env.WORKER_TICK_CONCURRENCY,
      /** The queues this worker takes jobs from (all when unset): dedicated tick or run workers. */
      queues: env.WORKER_QUEUES?.split(','),
      /** Prometheus metrics of the worker (`GET /metrics` on this port; 0 picks a free port). */
      metrics: { port: env.WORKER_METRICS_PORT, host: env.WORKER_METRICS_HOST },
      id: env.WORKER_ID,
      executor: env.EXECUTOR,
      runWorkdir: env.RUN_WORKDIR,
      meltanoBin: env.MELTANO_BIN,
      /** Where the local executor keeps installed plugins; null: no cache. */
      pluginCacheDir: env.PLUGIN_CACHE
        ? (env.PLUGIN_CACHE_DIR ??
          path.join(env.RUN_WORKDIR ?? path.join(tmpdir(), 'meltano-cloud-runs'), 'plugin-cache'))
        : null,
      gitBin: env.GIT_BIN,
      childEnv: {
        PATH: env.PATH,
        LANG: env.LANG,
        ...(env.HOME ? { HOME: env.HOME } : {}),
      } as Record<string, string>,
    },
    kubernetes: env.K8S_API_URL
      ? {
          apiUrl: env.K8S_API_URL,
          namespace: env.K8S_NAMESPACE,
          token: env.K8S_TOKEN,
          caFile: env.K8S_CA_FILE,
          skipTlsVerify: env.K8S_SKIP_TLS_VERIFY,
          meltanoImage: env.K8S_MELTANO_IMAGE,
          gitImage: env.K8S_GIT_IMAGE,
          cpu: env.K8S_RUN_CPU,
          memory: env.K8S_RUN_MEMORY,
          jobTtlSeconds: env.K8S_JOB_TTL_SECONDS,
          pluginCacheClaim: env.K8S_PLUGIN_CACHE_PVC,
          stateApiUrl: env.K8S_STATE_API_URL,
        }
      : undefined,
    mail: { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM },
    notifications: {
      // Off in production: tenants' webhooks must not reach the service's own network.
      allowPrivateTargets: env.NOTIFICATION_ALLOW_PRIVATE_TARGETS
        ? env.NOTIFICATION_ALLOW_PRIVATE_TARGETS === 'true'
        : env.NODE_ENV !== 'production',
    },
  };
}

export type ConfigValues = ReturnType<typeof toConfig>;

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface AppConfig extends ConfigValues {}
/** The validated configuration; injectable by class in NestJS. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class AppConfig {
  constructor(values: ConfigValues) {
    Object.assign(this, values);
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: issue.path.map(String).join('.') || '(environment)',
        message:
          issue.code === 'invalid_type' && issue.input === undefined
            ? 'is required'
            : issue.message,
      })),
    );
  }
  return new AppConfig(toConfig(parsed.data));
}

/** `loadConfig` for a process's entry point: a configuration error is printed and exits 78 (EX_CONFIG). */
export function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
