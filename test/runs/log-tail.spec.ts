import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type SeededOrg } from '../support/fixtures.js';
import { waitFor } from '../support/git-repo.js';
import { QueueService } from '../../src/queue/queue.service.js';
import { RunLogChannel } from '../../src/runs/run-log-channel.js';
import { RunLogTail, type TailLine } from '../../src/runs/run-log-tail.js';
import { RunLogWriter } from '../../src/runs/run-log-writer.js';
import { RunLogsRepository } from '../../src/runs/run-logs.repository.js';
import { RunEvents } from '../../src/runs/run-events.js';
import type { OrgId } from '../../src/database/org-id.js';
import type { Run } from '../../src/generated/prisma/client.js';

const noMask = { maskLine: (l: string) => l };
const retry = { baseDelayMs: 5, maxDelayMs: 20, attempts: 50, maxBuffered: 10_000 };

describe('live run logs over Redis pub/sub, replayed from PostgreSQL (real Redis and PostgreSQL)', () => {
  let t: TestApp;
  let org: SeededOrg;
  let channel: RunLogChannel;
  let tail: RunLogTail;
  let logs: RunLogsRepository;
  const orgId = () => org.orgId as OrgId;

  beforeAll(async () => {
    t = await createTestApp();
    org = await seedOrg(t.prisma, await createRoleUsers(t.prisma));
    channel = t.app.get(RunLogChannel);
    tail = t.app.get(RunLogTail);
    logs = t.app.get(RunLogsRepository);
  });
  afterAll(async () => {
    await t.close();
  });

  async function runningRun(): Promise<Run> {
    return t.prisma.run.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        target: 'load',
        trigger: 'manual',
        status: 'running',
        timeoutSeconds: 60,
      },
    });
  }

  /** A follower of the run's log, as the SSE endpoint drives it. */
  function follower(runId: string) {
    const lines: TailLine[] = [];
    let ended: Run | undefined;
    const done = tail.follow(orgId(), runId, 0, {
      line: (l) => lines.push(l),
      keepAlive: () => undefined,
      end: (run) => (ended = run),
      closed: () => false,
      onClose: () => undefined,
    });
    return { lines, done, ended: () => ended };
  }

  const subscribers = async (runId: string): Promise<number> => {
    const queues = t.app.get(QueueService);
    const [, count] = (await queues.connection.pubsub(
      'NUMSUB',
      `${queues.prefix}:run-logs:${runId}`,
    )) as [string, number];
    return count;
  };

  async function finish(runId: string): Promise<void> {
    await t.prisma.run.update({
      where: { id: runId },
      data: { status: 'succeeded', finishedAt: new Date() },
    });
    await t.app.get(RunEvents).runFinished(orgId(), runId);
  }

  const write = (writer: RunLogWriter, from: number, to: number) => {
    for (let i = from; i <= to; i++)
      writer.write({ stream: 'stdout', line: `line ${i}`, timestamp: new Date() });
  };

  it('a follower receives lines as they are pushed, before they are stored, and the end of the run', async () => {
    const run = await runningRun();
    // A flush interval of a minute: nothing reaches PostgreSQL unless flushed.
    const writer = new RunLogWriter(logs, orgId(), run.id, noMask, 0, 60_000, retry, channel);
    const f = follower(run.id);
    await waitFor(async () => (await subscribers(run.id)) > 0, 5000, 'follower subscribed');
    write(writer, 1, 3);
    await waitFor(async () => f.lines.length === 3 || null, 5000, 'pushed lines');
    expect(f.lines.map((l) => [l.seq, l.line])).toEqual([
      [1, 'line 1'],
      [2, 'line 2'],
      [3, 'line 3'],
    ]);
    expect(await t.prisma.runLogLine.count({ where: { runId: run.id } })).toBe(0);
    await writer.flush();
    await finish(run.id);
    await f.done;
    expect(f.ended()).toMatchObject({ id: run.id, status: 'succeeded' });
    expect(f.lines).toHaveLength(3);
    // The follower left: the API process no longer listens to the run's channel.
    expect(await subscribers(run.id)).toBe(0);
  });

  it('a late joiner gets the stored lines replayed, then the pushed ones, without gaps or duplicates', async () => {
    const run = await runningRun();
    const writer = new RunLogWriter(logs, orgId(), run.id, noMask, 0, 60_000, retry, channel);
    write(writer, 1, 5);
    await writer.flush(); // 1–5 stored
    // 6–8 pushed before any follower listened (a probe sees them go), not stored yet.
    const before: number[] = [];
    const stopProbe = await channel.subscribe(run.id, (m) => {
      if (m.t === 'lines') before.push(...m.lines.map((l) => l.seq));
    });
    write(writer, 6, 8);
    await waitFor(async () => before.includes(8) || null, 5000, 'lines 6–8 pushed');
    stopProbe();
    await waitFor(async () => (await subscribers(run.id)) === 0 || null, 5000, 'no listener');
    const late = follower(run.id);
    const early = follower(run.id);
    await waitFor(async () => late.lines.length >= 5 || null, 5000, 'replay');
    // A probe on the same channel sees each message when the followers do.
    const seen: number[] = [];
    const unsubscribe = await channel.subscribe(run.id, (m) => {
      if (m.t === 'lines') seen.push(...m.lines.map((l) => l.seq));
    });
    write(writer, 9, 10); // pushed while 6–8 are still only in the worker's buffer
    await waitFor(async () => seen.includes(10) || null, 5000, 'lines 9–10 pushed');
    await new Promise((resolve) => setImmediate(resolve));
    // Lines 9–10 arrived, but 6–8 are missing: nothing past 5 is sent until PostgreSQL has them.
    expect(late.lines.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    unsubscribe();
    await writer.flush(); // stored up to 10: the followers read the gap from PostgreSQL
    await waitFor(async () => late.lines.length === 10 || null, 5000, 'the gap filled');
    write(writer, 11, 11);
    await waitFor(async () => late.lines.length === 11 || null, 5000, 'live again');
    await writer.flush();
    await finish(run.id);
    await Promise.all([late.done, early.done]);
    const expected = Array.from({ length: 11 }, (_, i) => i + 1);
    expect(late.lines.map((l) => l.seq)).toEqual(expected);
    expect(early.lines.map((l) => l.seq)).toEqual(expected);
    expect(late.lines.map((l) => l.line)).toEqual(expected.map((i) => `line ${i}`));
  });

  it('a follower of a finished run gets its whole log and the end at once', async () => {
    const run = await runningRun();
    const writer = new RunLogWriter(logs, orgId(), run.id, noMask, 0, 60_000, retry, channel);
    write(writer, 1, 4);
    await writer.flush();
    await finish(run.id);
    const f = follower(run.id);
    await f.done;
    expect(f.lines.map((l) => l.seq)).toEqual([1, 2, 3, 4]);
    expect(f.ended()).toMatchObject({ status: 'succeeded' });
  });
});
