/**
 * `npm run bench` (options: `--schedules 100000`, `--workers 2`, `--profile <dir>`): the targets of issue 13, each
 * measured against its ceiling in the same run, through the real processes: the API
 * (dist/src/main.js) and the worker (dist/worker/main.js) as child processes, the raw BullMQ
 * ceiling (bench/floor.ts), a bare NestJS-Fastify route (bench/bare-api.ts), the load generator
 * (autocannon) and the log followers (bench/followers.ts) each in a process of their own.
 * Writes bench/RESULTS.md (a run with options: bench/RESULTS.<options>.md) with the machine, the
 * date and the commit. Machines are shared and
 * noisy: the ratios matter, not the absolute figures.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/app-config.js';
import {
  applyMigrations,
  dropDatabase,
  ensureDatabase,
  withDatabaseName,
} from '../src/database/migrator.js';
import { PrismaService } from '../src/database/prisma.service.js';
import { TOKEN_PREFIX, hashToken, visiblePrefix } from '../src/auth/credentials.js';

const dist = path.resolve('dist');
const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const SCHEDULES = option('schedules', 10_000);
const WORKERS = option('workers', 1);
const RECONCILE = option('reconcile', 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const DISPATCH = option('dispatch', 2000);
/**
 * `--tick-concurrency N`: tick jobs taken at once, by the floor and by the worker alike
 * (default: `WORKER_TICK_CONCURRENCY`'s default).
 */
const TICK_CONCURRENCY = option('tick-concurrency', 1000);
/** `--profile <dir>`: the API and worker processes write V8 CPU profiles there (`--cpu-prof`). */
const PROFILE_DIR = args.includes('--profile') ? args[args.indexOf('--profile') + 1] : undefined;
/**
 * `--only ticks|reconcile|api|http`: one part of the bench (for working on it); `http` is the HTTP
 * rows of `api` without a worker; `--only manual|logs|dispatch`: the api part with only that
 * run-path measure (the HTTP rounds still run: shorten them with BENCH_SECONDS=1).
 */
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const RUN_PARTS = ['manual', 'logs', 'dispatch'];
const want = (part: string) =>
  !ONLY || ONLY === part || (part === 'api' && RUN_PARTS.includes(ONLY));
/** A run-path measure of the api part: each with `--only api`. */
const wantRun = (part: string) => !ONLY || ONLY === 'api' || ONLY === part;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)] ?? NaN;
};
const r0 = (x: number) => Math.round(x);
const r2 = (x: number) => Math.round(x * 100) / 100;
/** A ratio to its ceiling: two decimals, or two significant digits below 0.1 (0.0041, not 0). */
const ratioOf = (x: number) => `${x >= 0.1 ? r2(x) : Number(x.toPrecision(2))} ×`;
const mb = (bytes: number) => `${r0(bytes / 2 ** 20)} MB`;

function rssOf(child: ChildProcess): number {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) the process has used, in milliseconds (Linux clock ticks of 10 ms). */
function cpuMsOf(child: ChildProcess): number {
  try {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** The highest RSS of `children` sampled while `work` runs. */
async function peakRss<T>(
  children: ChildProcess[],
  work: () => Promise<T>,
): Promise<[T, number[]]> {
  const peaks = children.map(rssOf);
  const timer = setInterval(
    () => children.forEach((c, i) => (peaks[i] = Math.max(peaks[i] ?? 0, rssOf(c)))),
    250,
  );
  try {
    return [await work(), peaks];
  } finally {
    clearInterval(timer);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

const children: ChildProcess[] = [];

/** Starts a node script; `lines` yields its stdout JSON lines. */
function start(script: string, argv: string[], env: Record<string, string> = {}) {
  const profiled =
    PROFILE_DIR && /(worker|src)\/main\.js$/.test(script)
      ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`]
      : [];
  const child = spawn(process.execPath, [...profiled, script, ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const waiting: ((line: Record<string, unknown>) => boolean)[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    if (!text.startsWith('{')) return;
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    for (let i = waiting.length - 1; i >= 0; i--) if (waiting[i]!(line)) waiting.splice(i, 1);
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  // 'close' comes once its stdout is read to the end: a long last line (100,000 latencies) may
  // still be arriving when 'exit' does.
  const closed = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  return {
    child,
    exited,
    /** The first stdout JSON line matching `match`. */
    line<T = Record<string, unknown>>(
      match: (line: Record<string, unknown>) => boolean,
      timeoutMs = 300_000,
    ): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${script}: no such line in ${timeoutMs} ms`)),
          timeoutMs,
        );
        void closed.then((code) => reject(new Error(`${script} exited with ${code}`)));
        waiting.push((line) => {
          if (!match(line)) return false;
          clearTimeout(timer);
          resolve(line as T);
          return true;
        });
      });
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits until `check` holds (the bench's own bookkeeping; the product never polls). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The next minute boundary at least `marginMs` away. */
function nextMinute(marginMs = 3000): number {
  return Math.ceil((Date.now() + marginMs) / 60_000) * 60_000;
}

async function autocannon(url: string, headers: Record<string, string>) {
  const bin = path.resolve('node_modules/autocannon/autocannon.js');
  const argv = ['-j', '-c', '50', '-d', String(SECONDS)];
  for (const [k, v] of Object.entries(headers)) argv.push('-H', `${k}=${v}`);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...argv, url], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`autocannon ${code}`)),
    );
  });
  const r = JSON.parse(out) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  };
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    bad: r.errors + r.non2xx,
  };
}

interface Row {
  measure: string;
  target: string;
  measured: string;
  ceiling: string;
  ratio: string;
  met: string;
}

async function main(): Promise<void> {
  const server = process.env.BENCH_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/postgres';
  const dbUrl = withDatabaseName(server, `mc_bench_${randomBytes(3).toString('hex')}`);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const base = `mcbench${randomBytes(3).toString('hex')}`;
  await ensureDatabase(dbUrl);
  await applyMigrations(dbUrl);
  const config = loadConfig({ ...process.env, DATABASE_URL: dbUrl, LOG_LEVEL: 'silent' });
  const prisma = new PrismaService(config);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const repo = mkdtempSync(path.join(tmpdir(), 'mc-bench-repo-'));
  const workdir = mkdtempSync(path.join(tmpdir(), 'mc-bench-runs-'));
  const rows: Row[] = [];
  const notes: string[] = [];
  const rss: string[] = [];
  const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString()}] ${msg}\n`);
  // The API runs as users run it (NODE_ENV=production); the worker decrypts what it encrypts.
  const masterKey = randomBytes(32).toString('base64');
  const workerEnv = (prefix: string, extra: Record<string, string> = {}) => ({
    NODE_ENV: 'development',
    MASTER_KEY: masterKey,
    LOG_LEVEL: 'warn',
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    WORKER_METRICS_PORT: '0',
    RUN_WORKDIR: workdir,
    MELTANO_BIN: path.resolve('test/fixtures/bin/meltano'),
    ...extra,
  });
  const apiEnv = (prefix: string, port: number) => ({
    ...workerEnv(prefix),
    NODE_ENV: 'production',
    SESSION_SECRET: randomBytes(32).toString('hex'),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    PORT: String(port),
    RATE_LIMIT_PER_MINUTE: '100000000',
  });
  /**
   * The HTTP rows: the bare route, the same two reads through the same repositories on a bare
   * route (no authentication, rate limit, access check, presenter, logging or metrics), then the
   * real API's two hot reads; autocannon in its own process.
   */
  const measureHttp = async (
    api: ChildProcess,
    baseUrl: string,
    auth: Record<string, string>,
    refs: { orgId: string; projectId: string },
  ) => {
    log('http');
    const bare = start(path.join(dist, 'bench/bare-api.js'), [dbUrl, refs.orgId, refs.projectId]);
    const { port: barePort } = await bare.line<{ port: number }>((l) => typeof l.port === 'number');
    const ceiling = await autocannon(`http://127.0.0.1:${barePort}/bare`, {});
    const sameReads = {
      list: await autocannon(`http://127.0.0.1:${barePort}/bare/runs`, {}),
      one: await autocannon(`http://127.0.0.1:${barePort}/bare/deployment`, {}),
    };
    await bare.stop();
    const [http, httpRss] = await peakRss([api], async () => ({
      list: await autocannon(`${baseUrl}/orgs/bench/runs?page_size=50`, auth),
      one: await autocannon(`${baseUrl}/orgs/bench/projects/p/deployments/d`, auth),
    }));
    for (const [label, r, reads] of [
      ['authenticated list runs (org with 100,000 runs, page of 50)', http.list, sameReads.list],
      ['authenticated GET of one deployment', http.one, sameReads.one],
    ] as const) {
      rows.push({
        measure: `${label}, 50 connections (\`http_request_duration_seconds\`)`,
        target: '≥ 0.25 × bare route',
        measured: `${r0(r.rps)} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms${r.bad ? `, ${r.bad} errors` : ''})`,
        ceiling:
          `bare NestJS-Fastify route: ${r0(ceiling.rps)} req/s (p50 ${ceiling.p50} ms, p99 ${ceiling.p99} ms); ` +
          `the same read on a bare route (same repository and SQL, nothing else): ${r0(reads.rps)} req/s ` +
          `(p50 ${reads.p50} ms, p99 ${reads.p99} ms${reads.bad ? `, ${reads.bad} errors` : ''}), the API at ${r2(r.rps / reads.rps)} × it`,
        ratio: ratioOf(r.rps / ceiling.rps),
        met: r.rps / ceiling.rps >= 0.25 && !r.bad ? 'yes' : 'no',
      });
    }
    rss.push(`API under HTTP load: ${mb(httpRss[0]!)}`);
  };
  /** The real API on a free port; `listening` settles once it answers /healthz. */
  const startApi = async (prefix: string) => {
    const port = await freePort();
    const api = start(path.join(dist, 'src/main.js'), [], apiEnv(prefix, port));
    const baseUrl = `http://127.0.0.1:${port}`;
    const listening = until(
      'API listening',
      async () => (await fetch(`${baseUrl}/healthz`).catch(() => null))?.ok === true,
      60_000,
    );
    void listening.catch(() => undefined); // awaited by the caller
    return { api, baseUrl, listening };
  };
  const seedRuns = async (orgId: string, deploymentId: string) => {
    log('seeding 100,000 runs');
    await prisma.$executeRaw`
      INSERT INTO runs (id, organization_id, deployment_id, target, job_name, trigger, status,
                        timeout_seconds, queued_at, finished_at)
      SELECT gen_random_uuid(), ${orgId}::uuid, ${deploymentId}::uuid, 'load', 'load', 'api', 'succeeded',
             3600, now() - make_interval(secs => i), now() - make_interval(secs => i) + interval '1 second'
      FROM generate_series(1, 100000) AS i`;
    await prisma.$executeRawUnsafe('ANALYZE');
  };
  try {
    // ---- seed: a user with a token, an organization, a project on a real git repository ------
    const git = (...a: string[]) =>
      execFileSync('git', ['-C', repo, '-c', 'user.name=b', '-c', 'user.email=b@b', ...a], {
        encoding: 'utf8',
      });
    execFileSync('git', ['init', '-q', '-b', 'main', repo]);
    mkdirSync(path.join(repo, 'data'));
    writeFileSync(
      path.join(repo, 'data/meltano.yml'),
      'version: 1\nproject_id: bench\nenvironments:\n- name: prod\njobs:\n- name: load\n  tasks:\n  - tap-x target-y\n',
    );
    git('add', '-A');
    git('commit', '-q', '-m', 'bench');
    const sha = git('rev-parse', 'HEAD').trim();
    const user = await prisma.user.create({ data: { login: 'bench' } });
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    await prisma.apiToken.create({
      data: {
        userId: user.id,
        name: 'bench',
        prefix: visiblePrefix(token),
        tokenHash: hashToken(token),
      },
    });
    const org = await prisma.organization.create({
      data: {
        name: 'Bench',
        slug: 'bench',
        billingAccountNumber: 'MC-BENCH',
        maxConcurrentRuns: 1000,
      },
    });
    await prisma.membership.create({
      data: { organizationId: org.id, userId: user.id, role: 'owner' },
    });
    const project = await prisma.project.create({
      data: {
        organizationId: org.id,
        name: 'p',
        slug: 'p',
        repository: `file://${repo}`,
        rootPath: 'data',
      },
    });
    const deployment = (slug: string, extra: Record<string, unknown> = {}) =>
      prisma.deployment.create({
        data: {
          organizationId: org.id,
          projectId: project.id,
          name: slug,
          slug,
          environment: 'prod',
          branch: 'main',
          status: 'ready',
          deployedCommitSha: sha,
          meltanoJobs: { load: ['tap-x target-y'] },
          meltanoEnvironments: ['prod'],
          maxConcurrentRuns: 1000,
          ...extra,
        },
      });
    const main = await deployment('d');
    const schedulesOf = async (
      deploymentId: string,
      n: number,
      cron: string,
      lastTickAt: Date | null,
    ) => {
      for (let i = 0; i < n; i += 5000)
        await prisma.schedule.createMany({
          data: Array.from({ length: Math.min(5000, n - i) }, (_, j) => ({
            organizationId: org.id,
            deploymentId,
            name: `s${i + j}`,
            interval: cron,
            cron,
            enabled: true,
            lastTickAt,
          })),
        });
    };

    if (want('ticks')) {
      // ---- 1. ticks: raw BullMQ job schedulers, then the real worker, each at a real minute ----
      log(`floor: ${SCHEDULES} raw BullMQ job schedulers, every minute`);
      const floorPrefix = `${base}floor`;
      const floorQueue = new Queue('floor', { connection: redis, prefix: floorPrefix });
      const floorWorkers = Array.from({ length: WORKERS }, () =>
        start(path.join(dist, 'bench/floor.js'), [
          'ticks',
          redisUrl,
          floorPrefix,
          '0',
          String(TICK_CONCURRENCY),
        ]),
      );
      await Promise.all(floorWorkers.map((w) => w.line((l) => l.ready === true)));
      // Every process's result awaited at once, and before the timers go in: one that reports
      // (and exits) while another is awaited, or while timers are still being added, must not be
      // missed.
      const floorResults = Promise.all(
        floorWorkers.map((w) =>
          w.line<{ latencies: number[] }>((l) => Array.isArray(l.latencies), 420_000),
        ),
      );
      void floorResults.catch(() => undefined); // awaited below, after the timers are added
      // Every timer must be in Redis before the minute they fire on: start right after a boundary
      // when the next one is too close.
      const upsertMarginMs = Math.min(55_000, 10_000 + SCHEDULES / 2);
      if (nextMinute(0) - Date.now() < upsertMarginMs)
        await sleep(nextMinute(0) - Date.now() + 200);
      const firstMinute = nextMinute(0);
      for (let i = 0; i < SCHEDULES; i += 1000)
        await Promise.all(
          Array.from({ length: Math.min(1000, SCHEDULES - i) }, (_, j) =>
            floorQueue.upsertJobScheduler(
              `s${i + j}`,
              { pattern: '* * * * *' },
              { name: 'tick', data: {} },
            ),
          ),
        );
      if (Date.now() > firstMinute)
        notes.push(
          `Adding the floor's ${SCHEDULES} timers took past the minute they were to fire on: those added after it fired a minute later.`,
        );
      const floorLatencies = (await floorResults).flatMap((l) => l.latencies);
      if (floorLatencies.length !== SCHEDULES)
        notes.push(
          `The floor handled ${floorLatencies.length} ticks of ${SCHEDULES} in its minute.`,
        );
      await Promise.all(floorWorkers.map((w) => w.stop()));
      await floorQueue.obliterate({ force: true });
      await floorQueue.close();

      log(`ticks: ${SCHEDULES} every-minute schedules, ${WORKERS} real worker process(es)`);
      // Runs queue behind one another (policy `queue`): a schedule whose timer already fired in
      // the minute before (100,000 timers take a while to add) still gets a queued run.
      const tickDeployment = await deployment('ticks', { concurrencyPolicy: 'queue' });
      await schedulesOf(tickDeployment.id, SCHEDULES, '* * * * *', new Date());
      const tickPrefix = `${base}ticks`;
      const tickWorkers = Array.from({ length: WORKERS }, (_, i) =>
        start(
          path.join(dist, 'worker/main.js'),
          [],
          workerEnv(tickPrefix, {
            WORKER_QUEUES: 'schedules,maintenance',
            WORKER_ID: `bench-tick-${i}`,
            WORKER_TICK_CONCURRENCY: String(TICK_CONCURRENCY),
          }),
        ),
      );
      await until(
        'timers reconciled',
        async () => (await redis.exists(`${tickPrefix}:schedulers-reconciled`)) === 1,
      );
      await sleep(2000); // start-up catch-up and sweep
      const minute = nextMinute(500);
      const [, tickRss] = await peakRss(
        tickWorkers.map((w) => w.child),
        () =>
          until(
            'tick runs',
            async () =>
              (await prisma.run.count({ where: { tickAt: new Date(minute) } })) >= SCHEDULES,
            minute - Date.now() + 240_000,
          ),
      );
      const [tick] = await prisma.$queryRaw<{ p50: number; p99: number; max: number }[]>`
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max
      FROM (SELECT extract(epoch FROM queued_at - tick_at) * 1000 AS ms FROM runs WHERE tick_at = ${new Date(minute)}) t`;
      await Promise.all(tickWorkers.map((w) => w.stop()));
      await prisma.schedule.updateMany({
        where: { deploymentId: tickDeployment.id },
        data: { enabled: false },
      });
      const floorP99 = pct(floorLatencies, 0.99);
      const tickRatio = Number(tick!.p99) / floorP99;
      rows.push({
        measure: `${SCHEDULES.toLocaleString('en')} schedules due on the same minute, ${WORKERS} worker(s): tick time → run row (\`schedule_tick_lag_seconds\`), p50 / p99`,
        target: SCHEDULES === 10_000 ? 'p99 ≤ 1.3 × floor' : 'reported, with the floor',
        measured: `${r0(Number(tick!.p50))} / ${r0(Number(tick!.p99))} ms (max ${r0(Number(tick!.max))})`,
        ceiling: `raw BullMQ job schedulers, trivial handler: ${r0(pct(floorLatencies, 0.5))} / ${r0(floorP99)} ms`,
        ratio: ratioOf(tickRatio),
        met: SCHEDULES === 10_000 ? (tickRatio <= 1.3 ? 'yes' : 'no') : '—',
      });
      rss.push(`worker during the tick: ${tickRss.map(mb).join(', ')}`);
      log(`ticks: p99 ${r0(Number(tick!.p99))} ms, floor ${r0(floorP99)} ms`);
    }
    if (want('reconcile')) {
      // ---- 2. reconcile of 100,000 enabled schedules at worker start -------------------------
      log(`reconcile: ${RECONCILE} enabled schedules`);
      const reconcileDeployment = await deployment('reconcile');
      await schedulesOf(reconcileDeployment.id, RECONCILE, '0 0 * * *', new Date());
      const reconcilePrefix = `${base}reconcile`;
      const memoryBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
      const startedAt = Date.now();
      const reconcileWorker = start(
        path.join(dist, 'worker/main.js'),
        [],
        workerEnv(reconcilePrefix, { WORKER_QUEUES: 'maintenance', WORKER_ID: 'bench-reconcile' }),
      );
      await until(
        'timers reconciled',
        async () => (await redis.exists(`${reconcilePrefix}:schedulers-reconciled`)) === 1,
        600_000,
      );
      const reconcileMs = Date.now() - startedAt;
      const memoryAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
      await reconcileWorker.stop();
      await prisma.schedule.updateMany({
        where: { deploymentId: reconcileDeployment.id },
        data: { enabled: false },
      });
      rows.push({
        measure: `reconcile ${RECONCILE.toLocaleString('en')} enabled schedules at worker start (process start → every timer in Redis)`,
        target: '< 30 s; Redis memory reported',
        measured: `${r2(reconcileMs / 1000)} s; Redis +${mb(memoryAfter - memoryBefore)}`,
        ceiling: '—',
        ratio: '—',
        met: reconcileMs < 30_000 ? 'yes' : 'no',
      });
      log(`reconcile: ${reconcileMs} ms`);
    }
    if (want('api')) {
      // ---- 3. the API and a full worker --------------------------------------------------------
      await seedRuns(org.id, main.id);
      // The tick part leaves its runs queued (their jobs went to its own Redis prefix, which no
      // run worker serves): this worker's sweep would queue them again as lost and run them
      // among the measured runs (in the 2026-12-01 run, ahead of every manual run).
      await prisma.run.updateMany({
        where: { status: 'queued' },
        data: {
          status: 'cancelled',
          statusReason: 'left by an earlier bench part',
          finishedAt: new Date(),
        },
      });
      const apiPrefix = `${base}api`;
      const { api, baseUrl, listening } = await startApi(apiPrefix);
      const worker = start(
        path.join(dist, 'worker/main.js'),
        [],
        workerEnv(apiPrefix, { WORKER_CONCURRENCY: '50', WORKER_ID: 'bench-worker' }),
      );
      await listening;
      await until(
        'worker ready',
        async () => (await redis.exists(`${apiPrefix}:schedulers-reconciled`)) === 1,
        120_000,
      );
      await sleep(3000);
      rss.push(`API idle: ${mb(rssOf(api.child))}; worker idle: ${mb(rssOf(worker.child))}`);
      const auth = { authorization: `Bearer ${token}` };
      const post = (url: string, body: unknown) =>
        fetch(`${baseUrl}${url}`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });

      // Manual run request → executor start (the clone process), one request every 250 ms.
      if (wantRun('manual')) {
        // One run at a time, each on a deployment of its own, the next request once the run
        // before ended: runs of one job share its Meltano state id and run one at a time (README
        // "One writer per state id"), and runs overlapping on this 2-core machine measure the CPU
        // their git and meltano processes take, not the path to the executor. One warm-up run
        // first (the worker's first queries and spawn), reported apart.
        log('manual runs');
        const manualRuns = 40;
        const sent = new Map<string, number>();
        let warmUp: number | null = null;
        for (let i = 0; i <= manualRuns; i++) {
          await deployment(`m${i}`);
          const at = Date.now();
          const res = await post(`/orgs/bench/projects/p/deployments/m${i}/runs`, { job: 'load' });
          if (res.status !== 201 && res.status !== 202)
            throw new Error(`POST runs: ${res.status} ${await res.text()}`);
          const id = ((await res.json()) as { id: string }).id;
          await until(
            'manual run ended',
            async () =>
              (await prisma.run.count({ where: { id, finishedAt: { not: null } } })) === 1,
            60_000,
          );
          if (i > 0) {
            sent.set(id, at);
            continue;
          }
          const first = await prisma.run.findUniqueOrThrow({ where: { id } });
          warmUp = first.startedAt ? first.startedAt.getTime() - at : null;
        }
        await until(
          'manual runs started',
          async () =>
            (await prisma.run.count({
              where: {
                id: { in: [...sent.keys()] },
                OR: [{ startedAt: { not: null } }, { finishedAt: { not: null } }],
              },
            })) === sent.size,
          120_000,
        );
        const manual = await prisma.run.findMany({ where: { id: { in: [...sent.keys()] } } });
        const notStarted = manual.filter((r) => !r.startedAt);
        if (notStarted.length)
          throw new Error(
            `runs that never started: ${notStarted.map((r) => `${r.status} ${r.statusReason}`).join('; ')}`,
          );
        const startLatency = manual.map((r) => r.startedAt!.getTime() - sent.get(r.id)!);
        const stepP50 = (
          from: (r: (typeof manual)[number]) => number,
          to: keyof (typeof manual)[number],
        ) =>
          r0(
            pct(
              manual.map((r) => (r[to] as Date).getTime() - from(r)),
              0.5,
            ),
          );
        const steps = [
          `request → queued ${stepP50((r) => sent.get(r.id)!, 'queuedAt')}`,
          `queued → admitted ${stepP50((r) => r.queuedAt.getTime(), 'admittedAt')}`,
          `admitted → started ${stepP50((r) => r.admittedAt!.getTime(), 'startedAt')}`,
        ];
        rows.push({
          measure:
            'manual run request → executor start (`run_start_latency_seconds`, trivial process, one run at a time, each on a deployment of its own), p50 / p99',
          target: '< 150 ms / < 500 ms',
          measured: `${r0(pct(startLatency, 0.5))} / ${r0(pct(startLatency, 0.99))} ms over ${manualRuns} runs (p50 of the steps: ${steps.join(', ')} ms; warm-up run before them: ${warmUp ?? '?'} ms)`,
          ceiling: '—',
          ratio: '—',
          met: pct(startLatency, 0.5) < 150 && pct(startLatency, 0.99) < 500 ? 'yes' : 'no',
        });
        await until(
          'manual runs finished',
          async () =>
            (await prisma.run.count({
              where: { id: { in: [...sent.keys()] }, finishedAt: null },
            })) === 0,
        );
      }

      // Live log tail: 100 followers of a run printing 500 lines, 20 ms apart (lines printed
      // once every follower is connected are timed).
      if (wantRun('logs')) {
        log('log tail');
        for (const [name, value] of [
          ['FAKE_MELTANO_LINES', '500'],
          ['FAKE_MELTANO_DELAY_MS', '20'],
        ]) {
          const res = await fetch(`${baseUrl}/orgs/bench/projects/p/secrets/${name}`, {
            method: 'PUT',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ value }),
          });
          if (!res.ok) throw new Error(`PUT secret: ${res.status} ${await res.text()}`);
        }
        const tailRun = (await (
          await post('/orgs/bench/projects/p/deployments/d/runs', { job: 'load' })
        ).json()) as { id: string };
        const followers = start(path.join(dist, 'bench/followers.js'), [
          `${baseUrl}/orgs/bench/runs/${tailRun.id}/logs/stream`,
          token,
          '100',
        ]);
        const [tail, tailRss] = await peakRss([api.child, worker.child], () =>
          followers.line<{ latencies: number[]; lines: number; consistent: boolean }>((l) =>
            Array.isArray(l.latencies),
          ),
        );
        const tailP99 = pct(tail.latencies, 0.99);
        rows.push({
          measure:
            'live log tail, 100 followers: line printed by the pipeline → received by a follower, p50 / p99',
          target: 'p99 < 250 ms',
          measured: `${r0(pct(tail.latencies, 0.5))} / ${r0(tailP99)} ms (${tail.latencies.length} timed of ${tail.lines} lines × 100 followers, ${tail.consistent ? 'all in order, no gap or duplicate' : 'GAPS OR DUPLICATES'})`,
          ceiling: '—',
          ratio: '—',
          met: tailP99 < 250 && tail.consistent ? 'yes' : 'no',
        });
        rss.push(`during the log tail: API ${mb(tailRss[0]!)}, worker ${mb(tailRss[1]!)}`);
      }

      // Runs dispatched per second: queued runs enqueued in bulk → admitted by the worker.
      if (wantRun('dispatch')) {
        log('dispatch');
        const dispatchDeployment = await deployment('dispatch');
        // A job each: runs of one job share its Meltano state id and run one at a time (README
        // "One writer per state id"): runs of one job would measure runs one after another.
        const dispatchRuns = Array.from({ length: DISPATCH }, (_, i) => ({
          id: randomUUID(),
          organizationId: org.id,
          deploymentId: dispatchDeployment.id,
          target: `load-${i}`,
          jobName: `load-${i}`,
          trigger: 'api' as const,
          timeoutSeconds: 3600,
        }));
        await prisma.run.createMany({ data: dispatchRuns });
        // Their repository cannot be cloned (an invalid URL): each run is admitted, then fails at once.
        await prisma.project.update({
          where: { id: project.id },
          data: { repository: '-invalid' },
        });
        const runsQueue = new Queue('runs', { connection: redis, prefix: apiPrefix });
        const transactions = async () =>
          Number(
            (
              await prisma.$queryRaw<{ n: bigint }[]>`
                SELECT xact_commit + xact_rollback AS n FROM pg_stat_database
                 WHERE datname = current_database()`
            )[0]!.n,
          );
        const cpuBefore = cpuMsOf(worker.child);
        const transactionsBefore = await transactions();
        const dispatchStart = Date.now();
        const [, dispatchRss] = await peakRss([worker.child], async () => {
          for (let i = 0; i < DISPATCH; i += 1000)
            await runsQueue.addBulk(
              dispatchRuns.slice(i, i + 1000).map((r) => ({
                name: 'run.execute',
                data: { organizationId: org.id, runId: r.id },
                opts: { jobId: `run-${r.id}`, removeOnComplete: true, removeOnFail: true },
              })),
            );
          await until(
            'dispatched',
            async () =>
              (await prisma.run.count({
                where: { deploymentId: dispatchDeployment.id, admittedAt: { not: null } },
              })) === DISPATCH,
          );
        });
        const [dispatched] = await prisma.$queryRaw<{ last: Date }[]>`
      SELECT max(admitted_at) AS last FROM runs WHERE deployment_id = ${dispatchDeployment.id}::uuid`;
        const dispatchRate = DISPATCH / ((dispatched!.last.getTime() - dispatchStart) / 1000);
        // What each dispatched run cost: the worker's CPU, and PostgreSQL's transactions (each
        // statement outside a transaction is one; PostgreSQL's counters lag by up to a second).
        await sleep(1500);
        const workerCpuPerRun = (cpuMsOf(worker.child) - cpuBefore) / DISPATCH;
        const transactionsPerRun = ((await transactions()) - transactionsBefore) / DISPATCH;
        await runsQueue.close();
        await prisma.project.update({
          where: { id: project.id },
          data: { repository: `file://${repo}` },
        });
        const floorThroughput = start(path.join(dist, 'bench/floor.js'), [
          'throughput',
          redisUrl,
          `${base}floorq`,
          String(DISPATCH * 5),
          '50',
        ]);
        const { perSecond } = await floorThroughput.line<{ perSecond: number }>(
          (l) => typeof l.perSecond === 'number',
        );
        rows.push({
          measure: `runs dispatched per second (\`runs_dispatched_total\`: ${DISPATCH} queued runs, a job each, enqueued in bulk → admitted, worker concurrency 50)`,
          target: '≥ 0.5 × raw BullMQ',
          measured: `${r0(dispatchRate)} runs/s (each a whole run, admitted to final status: worker CPU ${r2(workerCpuPerRun)} ms and ${r0(transactionsPerRun)} PostgreSQL transactions per run)`,
          ceiling: `raw BullMQ enqueue → process, concurrency 50: ${r0(perSecond)} jobs/s`,
          ratio: ratioOf(dispatchRate / perSecond),
          met: dispatchRate / perSecond >= 0.5 ? 'yes' : 'no',
        });
        rss.push(`worker dispatching: ${mb(dispatchRss[0]!)}`);
      }

      // HTTP: the load generator in its own process.
      await measureHttp(api.child, baseUrl, auth, { orgId: org.id, projectId: project.id });
      rows.push({
        measure: 'API and worker RSS, idle and under the loads above',
        target: 'reported',
        measured: rss.join('; '),
        ceiling: '—',
        ratio: '—',
        met: '—',
      });
      await api.stop();
      await worker.stop();
    }
    if (ONLY === 'http') {
      // ---- the HTTP rows of part 3 alone: the API without a worker --------------------------
      await seedRuns(org.id, main.id);
      const { api, baseUrl, listening } = await startApi(`${base}http`);
      await listening;
      await measureHttp(
        api.child,
        baseUrl,
        { authorization: `Bearer ${token}` },
        { orgId: org.id, projectId: project.id },
      );
      rows.push({
        measure: 'API RSS under HTTP load',
        target: 'reported',
        measured: rss.join('; '),
        ceiling: '—',
        ratio: '—',
        met: '—',
      });
      await api.stop();
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await prisma.$disconnect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    await dropDatabase(dbUrl);
    rmSync(repo, { recursive: true, force: true });
    rmSync(workdir, { recursive: true, force: true });
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    if (
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
        encoding: 'utf8',
      }).trim()
    )
      commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout
  }
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const out = [
    '# Benchmarks',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}\` at commit ${commit},`,
    `on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ${r0(totalmem() / 2 ** 30)} GiB, Node ${process.version}; PostgreSQL and Redis on the same machine.`,
    `Every ceiling is measured in the same run; each process (API, worker, raw BullMQ, bare route, load generator, followers) is its own. HTTP rounds last ${SECONDS} s.`,
    '',
    '| measure | target | measured | ceiling (same run) | ratio | met |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${[r.measure, r.target, r.measured, r.ceiling, r.ratio, r.met].map(cell).join(' | ')} |`,
    ),
    '',
    ...notes,
  ].join('\n');
  // The default run writes bench/RESULTS.md; a run with options its own file beside it
  // (`--only ticks --schedules 100000` → bench/RESULTS.only-ticks.schedules-100000.md).
  const named = [];
  for (let i = 0; i < args.length; i++)
    if (args[i]!.startsWith('--') && args[i] !== '--profile')
      named.push(
        args[i + 1] && !args[i + 1]!.startsWith('--')
          ? `${args[i]!.slice(2)}-${args[++i]}`
          : args[i]!.slice(2),
      );
    else if (args[i] === '--profile') i++;
  const file = named.length ? `bench/RESULTS.${named.join('.')}.md` : 'bench/RESULTS.md';
  writeFileSync(path.resolve(file), `${out}\n`);
  log(`wrote ${file}`);
  console.log(out);
  process.exit(0);
}

void main().catch((err: unknown) => {
  console.error(err);
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  process.exit(1);
});
