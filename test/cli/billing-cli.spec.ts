import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createUserWithToken, type TestUser } from '../support/fixtures.js';
import {
  createUsageOrg,
  previousPeriod,
  seedUsage,
  type UsageOrg,
} from '../support/billing-fixtures.js';
import { billingPeriodOf } from '../../src/billing/pricing.js';
import { cliEnv, ensureCliBuilt, runCli, type CliResult } from './cli-process.js';

const expectOk = (r: CliResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
};
const widest = (text: string) => Math.max(...text.split('\n').map((l) => [...l].length));

describe('meltano-cloud org billing and usage (built binary → API → usage ledger)', () => {
  let t: TestApp;
  let user: TestUser;
  let org: UsageOrg;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const period = billingPeriodOf(new Date());
  const cli = (...args: string[]) => runCli(args, env);

  beforeAll(async () => {
    ensureCliBuilt();
    tmp = mkdtempSync(path.join(tmpdir(), 'mc-cli-billing-'));
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    user = await createUserWithToken(t.prisma, 'billing-cli-user');
    org = await createUsageOrg(t.prisma, user.id, 'billing-cli');
    await seedUsage(t, org);
    env = cliEnv({
      HOME: tmp,
      XDG_CONFIG_HOME: path.join(tmp, 'config'),
      MELTANO_CLOUD_BASE_URL: `http://127.0.0.1:${port}`,
      MELTANO_CLOUD_TOKEN: user.token,
      MELTANO_CLOUD_ORGANIZATION: org.slug,
      TZ: 'UTC',
    });
  }, 150_000);

  afterAll(async () => {
    await t?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('org billing shows plan, status, period, credits used and left, cap and payment state', async () => {
    const r = expectOk(await cli('org', 'billing'));
    expect(r.stdout).toMatch(/^Organization:\s+billing-cli \(billing account MC-\d{10}\)$/m);
    expect(r.stdout).toMatch(/^Plan:\s+Free \(100\.0 credits a month included\)$/m);
    expect(r.stdout).toMatch(/^Status:\s+active \(billing is not enforced on this server/m);
    expect(r.stdout).toContain(`Period:        ${period} (UTC)`);
    expect(r.stdout).toMatch(/^Credits used: {2}4\.5$/m);
    expect(r.stdout).toMatch(/^Credits left: {2}95\.5$/m);
    expect(r.stdout).toMatch(/^Spend cap:\s+none$/m);
    expect(r.stdout).toMatch(/^Payment:\s+no payment method$/m);

    const json = JSON.parse(expectOk(await cli('org', 'billing', '--format', 'json')).stdout);
    expect(json).toMatchObject({
      period,
      enforced: false,
      plan: { id: 'free', free_allowance_credits: 100 },
      credits_used: 4.5,
      credits_left: 95.5,
      spend_cap_cents: null,
      payment_state: 'none',
      has_payment_method: false,
      limit_reached: null,
    });
    expect(r.stderr).toBe('');
  });

  it('usage totals this period by project (default), as a table and as JSON', async () => {
    const r = expectOk(await cli('usage'));
    expect(r.stdout).toContain(`4.5 credits in 4 runs in ${period} (UTC), by project`);
    expect(r.stdout).toMatch(/^PROJECT\s+CREDITS\s+RUNS\s+SHARE$/m);
    expect(r.stdout).toMatch(/^Analytics\s+3\.5\s+2\s+78%$/m);
    expect(r.stdout).toMatch(/^Marketing\s+1\.0\s+2\s+22%$/m);
    expect(widest(r.stdout)).toBeLessThanOrEqual(80);

    const json = JSON.parse(expectOk(await cli('usage', '--format', 'json')).stdout);
    expect(json).toEqual({
      period,
      by: 'project',
      total_credits: 4.5,
      totals: [
        { key: org.analytics.projectId, name: 'Analytics', credits: 3.5, runs: 2 },
        { key: org.marketing.projectId, name: 'Marketing', credits: 1, runs: 2 },
      ],
    });
  });

  it('groups by schedule, deployment and day; --period picks another month', async () => {
    const bySchedule = expectOk(await cli('usage', '--by', 'schedule', '--format', 'markdown'));
    expect(bySchedule.stdout).toContain('| SCHEDULE | CREDITS | RUNS | SHARE |');
    expect(bySchedule.stdout).toContain('| prod / load | 2.5 | 1 | 56% |');
    expect(bySchedule.stdout).toContain('| prod / daily load | 1.0 | 1 | 22% |');
    expect(bySchedule.stdout).toContain('| prod / hourly sync | 1.0 | 2 | 22% |');

    const byDeployment = JSON.parse(
      expectOk(await cli('usage', '--by', 'deployment', '--format', 'json')).stdout,
    );
    expect(byDeployment.totals.map((x: { name: string }) => x.name)).toEqual([
      'Analytics / prod',
      'Marketing / prod',
    ]);

    const byDay = JSON.parse(
      expectOk(await cli('usage', '--by', 'day', '--format', 'json')).stdout,
    );
    expect(byDay.totals).toEqual([
      expect.objectContaining({
        key: new Date().toISOString().slice(0, 10),
        credits: 4.5,
        runs: 4,
      }),
    ]);

    const last = previousPeriod();
    const earlier = expectOk(await cli('usage', '--period', last));
    expect(earlier.stdout).toContain(`1.0 credits in 1 run in ${last} (UTC), by project`);
    expect(earlier.stdout).toMatch(/^Analytics\s+1\.0\s+1\s+100%$/m);

    const none = expectOk(await cli('usage', '--period', '2001-01'));
    expect(none.stdout).toContain('No usage in 2001-01.');
  });

  it('rejects a bad --period or --by as a usage error (exit 2)', async () => {
    const badPeriod = await cli('usage', '--period', '2026-13');
    expect(badPeriod.code).toBe(2);
    expect(badPeriod.stderr).toContain('--period must be a month, YYYY-MM');
    const badBy = await cli('usage', '--by', 'team');
    expect(badBy.code).toBe(2);
    expect(badBy.stderr).toContain('Allowed choices are project, deployment, schedule, day');
  });

  it('refuses billing of an organization the user is not in', async () => {
    const r = await runCli(['org', 'billing'], { ...env, MELTANO_CLOUD_ORGANIZATION: 'nope' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Organization 'nope' (from MELTANO_CLOUD_ORGANIZATION) not found");
  });
});
