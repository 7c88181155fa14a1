import { readFileSync } from 'node:fs';
import { ConfigError, envSchema, loadConfig } from '../../src/config/app-config.js';

const problemsOf = (env: Record<string, string>): { variable: string; message: string }[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the configuration to be refused');
};

describe('configuration', () => {
  it('boots with no variables at all, with local defaults', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.databaseUrl).toBe('postgresql://root@127.0.0.1:5432/meltano_cloud');
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.auth.devLoginEnabled).toBe(true);
    expect(config.github.app).toBeUndefined();
    expect(config.stripe).toBeUndefined();
    expect(config.worker.executor).toBe('local');
  });

  it('names every bad variable in one error', () => {
    const problems = problemsOf({ PORT: 'eighty', DATABASE_URL: 'not a url', LOG_LEVEL: 'loud' });
    expect(problems.map((p) => p.variable).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT']);
    const message = (() => {
      try {
        loadConfig({ PORT: 'eighty' });
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(message).toContain('PORT');
  });

  it('validates the GitHub App only when it is switched on, and then names what is missing', () => {
    expect(loadConfig({ GITHUB_WEB_URL: 'https://ghe.example.com' }).github.app).toBeUndefined();
    const problems = problemsOf({ GITHUB_APP_ID: '123' });
    expect(problems.map((p) => p.variable).sort()).toEqual([
      'GITHUB_APP_PRIVATE_KEY',
      'GITHUB_APP_SLUG',
      'GITHUB_APP_WEBHOOK_SECRET',
    ]);
  });

  it('requires Kubernetes settings only for the kubernetes executor', () => {
    expect(problemsOf({ EXECUTOR: 'kubernetes' })).toEqual([
      { variable: 'K8S_API_URL', message: 'required when EXECUTOR=kubernetes' },
    ]);
    expect(
      loadConfig({ EXECUTOR: 'kubernetes', K8S_API_URL: 'https://10.0.0.1:6443' }).kubernetes
        ?.namespace,
    ).toBe('meltano-runs');
  });

  it('requires Stripe webhook secret, price and meter once a Stripe key is set', () => {
    expect(
      problemsOf({ STRIPE_SECRET_KEY: 'sk_test_x' })
        .map((p) => p.variable)
        .sort(),
    ).toEqual(['STRIPE_METER_EVENT_NAME', 'STRIPE_PRICE_ID', 'STRIPE_WEBHOOK_SECRET']);
  });

  it('refuses production without real secrets and refuses the development sign-in there', () => {
    const problems = problemsOf({ NODE_ENV: 'production', DEV_LOGIN_ENABLED: 'true' });
    expect(problems.map((p) => p.variable).sort()).toEqual([
      'DEV_LOGIN_ENABLED',
      'MASTER_KEY',
      'PUBLIC_URL',
      'SESSION_SECRET',
    ]);
    const ok = loadConfig({
      NODE_ENV: 'production',
      SESSION_SECRET: 'x'.repeat(40),
      MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      PUBLIC_URL: 'https://cloud.example.com',
    });
    expect(ok.auth.devLoginEnabled).toBe(false);
  });

  it('rejects a master key that is not 32 bytes', () => {
    expect(problemsOf({ MASTER_KEY: Buffer.alloc(16).toString('base64') })).toEqual([
      { variable: 'MASTER_KEY', message: 'must be 32 bytes, base64-encoded' },
    ]);
  });

  it('documents every variable of the schema in .env.example', () => {
    const documented = new Set(
      readFileSync('.env.example', 'utf8')
        .split('\n')
        .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
        .filter((name): name is string => Boolean(name)),
    );
    const declared = Object.keys(envSchema.shape);
    expect(declared.length).toBeGreaterThan(30);
    expect(declared.filter((name) => !documented.has(name))).toEqual([]);
  });
});
