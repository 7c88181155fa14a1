/**
 * Live log followers, in their own process: <count> SSE connections to one run's log stream.
 *   node followers.js <url> <token> <count>
 * Prints {"connected":true} once every follower has its stream open, then, when every follower
 * got the `end` event, one JSON line: each line's latency (received − the ISO time the pipeline
 * printed at the start of the line; lines printed before every follower was connected are not
 * counted: they measure the 100 connections being opened, not the tail), and whether every
 * follower saw every line once, in order.
 */
import http from 'node:http';

const [url = '', token = '', countArg = '1'] = process.argv.slice(2);
const count = Number(countArg);
/** When the last follower's stream opened. */
let allOpenAt = Infinity;

interface Result {
  latencies: number[];
  seqs: number[];
}

function follow(onOpen: () => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const result: Result = { latencies: [], seqs: [] };
    const req = http.get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
      const openedAt = Date.now();
      onOpen();
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const received = Date.now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(event)?.[1];
          const data = /^data: (.*)$/m.exec(event)?.[1];
          if (type === 'end') {
            req.destroy();
            return resolve(result);
          }
          if (type !== 'line' || !data) continue;
          const line = JSON.parse(data) as { seq: number; line: string };
          result.seqs.push(line.seq);
          const printed = Date.parse(line.line.slice(0, 24));
          if (Number.isFinite(printed) && printed >= Math.max(openedAt, allOpenAt))
            result.latencies.push(received - printed);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function main(): Promise<void> {
  let open = 0;
  const all = Promise.all(
    Array.from({ length: count }, () =>
      follow(() => {
        if (++open < count) return;
        allOpenAt = Date.now();
        process.stdout.write(`${JSON.stringify({ connected: true })}\n`);
      }),
    ),
  );
  const results = await all;
  const reference = results[0]?.seqs ?? [];
  const consistent = results.every(
    (r) =>
      r.seqs.length === reference.length &&
      r.seqs.every((s, i) => s === reference[i] && (i === 0 || s > (r.seqs[i - 1] ?? 0))),
  );
  process.stdout.write(
    `${JSON.stringify({ latencies: results.flatMap((r) => r.latencies), lines: reference.length, consistent })}\n`,
  );
  process.exit(0);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
