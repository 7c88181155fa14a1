import type { OrgId } from '../../../src/database/org-id.js';
import { RunLogWriter, type LogWriteRetry } from '../../../src/runs/run-log-writer.js';
import type { NewLogLine, RunLogsRepository } from '../../../src/runs/run-logs.repository.js';

/** PostgreSQL's answer while it shuts down, as node-postgres reports it. */
const shuttingDown = () =>
  Object.assign(new Error('the database system is shutting down'), {
    code: '57P03',
    severity: 'FATAL',
  });

/** A repository that fails its first `failures` writes, then stores (skipping known seqs, as the real one). */
function flakyLogs(failures: number) {
  const stored = new Map<number, NewLogLine>();
  let calls = 0;
  const repo = {
    append(_org: OrgId, _run: string, lines: NewLogLine[]): Promise<void> {
      calls++;
      if (calls <= failures) return Promise.reject(shuttingDown());
      for (const l of lines) if (!stored.has(l.seq)) stored.set(l.seq, l);
      return Promise.resolve();
    },
  };
  return {
    repo: repo as unknown as RunLogsRepository,
    stored: () => [...stored.values()].sort((a, b) => a.seq - b.seq),
    calls: () => calls,
  };
}

const noMask = { maskLine: (l: string) => l };
const fast: LogWriteRetry = { baseDelayMs: 5, maxDelayMs: 20, attempts: 50, maxBuffered: 10_000 };
const line = (n: number) => ({
  stream: 'stdout' as const,
  line: `line ${n}`,
  timestamp: new Date(),
});

describe('RunLogWriter when the database fails', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));
  beforeEach(() => (unhandled.length = 0));

  it('retries with backoff and loses no line when writes fail a few times then succeed', async () => {
    const logs = flakyLogs(4);
    const writer = new RunLogWriter(logs.repo, 'org' as OrgId, 'run-1', noMask, 0, 10, fast);
    // Enough output for batch flushes (200 lines) and timer flushes, while writes fail.
    for (let i = 1; i <= 450; i++) writer.write(line(i));
    await new Promise((r) => setTimeout(r, 30));
    for (let i = 451; i <= 500; i++) writer.write(line(i));
    await writer.flush();
    const stored = logs.stored();
    expect(stored.map((l) => l.line)).toEqual(
      Array.from({ length: 500 }, (_v, i) => `line ${i + 1}`),
    );
    expect(stored.map((l) => l.seq)).toEqual(Array.from({ length: 500 }, (_v, i) => i + 1));
    expect(logs.calls()).toBeGreaterThan(4);
    // Let any stray promise settle: nothing was left unhandled.
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
  });

  it('never rejects while the database stays down, and writes the lines once it is back', async () => {
    const logs = flakyLogs(3);
    const writer = new RunLogWriter(logs.repo, 'org' as OrgId, 'run-2', noMask, 7, 10, {
      ...fast,
      attempts: 2,
    });
    writer.write(line(1));
    writer.write(line(2));
    // Two attempts, both refused: the flush resolves with the lines still buffered.
    await expect(writer.flush()).resolves.toBeUndefined();
    expect(logs.stored()).toEqual([]);
    await writer.flush();
    expect(logs.stored().map((l) => [l.seq, l.line])).toEqual([
      [8, 'line 1'],
      [9, 'line 2'],
    ]);
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
  });

  it('keeps at most maxBuffered lines while writes fail, and says how many were dropped', async () => {
    const logs = flakyLogs(1_000_000);
    const writer = new RunLogWriter(logs.repo, 'org' as OrgId, 'run-3', noMask, 0, 10_000, {
      ...fast,
      attempts: 1,
      maxBuffered: 5,
    });
    for (let i = 1; i <= 8; i++) writer.write(line(i));
    await writer.flush();
    // The database comes back.
    const stored: NewLogLine[] = [];
    (logs.repo as unknown as { append: unknown }).append = (
      _o: OrgId,
      _r: string,
      lines: NewLogLine[],
    ) => {
      stored.push(...lines);
      return Promise.resolve();
    };
    await writer.flush();
    expect(stored.map((l) => l.line)).toEqual([
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'line 5',
      '[meltano-cloud] 3 lines of output were not stored: the database was unreachable',
    ]);
    expect(stored.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
