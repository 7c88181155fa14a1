/**
 * The raw BullMQ ceiling, in its own process: a Worker with a trivial handler on the same Redis.
 *   node floor.js ticks <redisUrl> <prefix> <count> <concurrency>
 *     handles job-scheduler jobs; latency = handled − the tick time in the job id. Reports once it
 *     handled some and then none for 3 s (one minute's burst; <count> is unused).
 *   node floor.js throughput <redisUrl> <prefix> <count> <concurrency>
 *     enqueues <count> jobs with addBulk, processes them; prints jobs per second.
 * Prints one JSON line with the result.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [mode, redisUrl = '', prefix = '', countArg = '0', concurrencyArg = '1'] =
  process.argv.slice(2);
const count = Number(countArg);
const concurrency = Number(concurrencyArg);
const connection = () => new Redis(redisUrl, { maxRetriesPerRequest: null });
/** One JSON line on stdout, written out before the process may exit (a pipe takes 64 KB at once). */
const report = (value: unknown) =>
  new Promise<void>((resolve) =>
    process.stdout.write(`${JSON.stringify(value)}\n`, () => resolve()),
  );

async function main(): Promise<void> {
  const latencies: number[] = [];
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let idle: NodeJS.Timeout | undefined;
  const worker = new Worker(
    'floor',
    async (job) => {
      if (mode === 'ticks') {
        latencies.push(Date.now() - Number(job.id?.split(':').at(-1)));
        clearTimeout(idle);
        idle = setTimeout(finish, 3000);
      } else if (++done === count) finish();
    },
    { connection: connection(), prefix, concurrency, removeOnComplete: { count: 0 } },
  );
  await worker.waitUntilReady();
  if (mode === 'ticks') {
    await report({ ready: true });
    await finished;
    await report({ latencies });
  } else {
    const queue = new Queue('floor', { connection: connection(), prefix });
    const started = Date.now();
    for (let i = 0; i < count; i += 1000)
      await queue.addBulk(
        Array.from({ length: Math.min(1000, count - i) }, () => ({
          name: 'floor',
          data: { organizationId: '00000000-0000-0000-0000-000000000000', runId: 'x' },
          opts: { removeOnComplete: true },
        })),
      );
    await finished;
    const seconds = (Date.now() - started) / 1000;
    await report({ perSecond: count / seconds });
    await queue.close();
  }
  await worker.close();
  process.exit(0);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
