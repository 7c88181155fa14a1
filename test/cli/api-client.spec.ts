import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Command } from 'commander';
import { createApiApp, buildOpenApiDocument } from '../../src/app.js';
import { testConfig } from '../support/test-env.js';
import {
  ApiClient,
  ApiError,
  NetworkError,
  ROUTES,
  UNDOCUMENTED_RESPONSES,
} from '../../cli/api-client.js';
import { apiTypesSource, GENERATED_FILE } from '../../cli/openapi/generate.js';
import type { OpenApiDocument } from '../../cli/openapi/render.js';
import { allCommands, createProgram } from '../../cli/program.js';
import { Context, type Output } from '../../cli/context.js';
import { formatDuration, formatTime, renderList, renderTable, truncate } from '../../cli/output.js';
import { dashboardUrl } from '../../cli/commands/web.js';

describe('the CLI’s API client against the OpenAPI document', () => {
  let doc: OpenApiDocument;

  beforeAll(async () => {
    const config = testConfig('postgresql://root@127.0.0.1:5432/mc_openapi_only');
    const app = await createApiApp(config);
    doc = buildOpenApiDocument(app, config) as unknown as OpenApiDocument;
    await app.close();
  });

  it('the generated types are those of the current document (run `npm run cli:openapi` if not)', async () => {
    const committed = readFileSync(path.resolve(GENERATED_FILE), 'utf8');
    expect(committed).toBe(await apiTypesSource(doc));
  });

  it('every route the client uses exists in the document with that method', () => {
    for (const [name, spec] of Object.entries(ROUTES)) {
      const [method, route] = spec.split(' ') as [string, string];
      expect({ name, documented: Boolean(doc.paths[route]?.[method.toLowerCase()]) }).toEqual({
        name,
        documented: true,
      });
    }
  });

  it('responses the client describes itself are exactly those the document leaves out', () => {
    const hasSchema = (name: keyof typeof ROUTES) => {
      const [method, route] = ROUTES[name].split(' ') as [string, string];
      const responses = doc.paths[route]?.[method.toLowerCase()]?.responses ?? {};
      return Object.entries(responses).some(
        ([status, r]) => status.startsWith('2') && r.content?.['application/json']?.schema,
      );
    };
    for (const name of UNDOCUMENTED_RESPONSES)
      expect({ name, schema: hasSchema(name) }).toEqual({ name, schema: false });
    for (const name of Object.keys(ROUTES) as (keyof typeof ROUTES)[]) {
      const [method] = ROUTES[name].split(' ');
      if (method === 'DELETE' || (UNDOCUMENTED_RESPONSES as string[]).includes(name)) continue;
      expect({ name, schema: hasSchema(name) }).toEqual({ name, schema: true });
    }
  });
});

describe('the API client', () => {
  let server: Server;
  let base: string;
  const handlers = new Map<string, (res: import('node:http').ServerResponse) => void>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const handler = handlers.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (handler) handler(res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('turns problem+json into an error with the detail and each field', async () => {
    handlers.set('/orgs/acme/projects', (res) =>
      res.writeHead(400, { 'content-type': 'application/problem+json' }).end(
        JSON.stringify({
          title: 'Bad Request',
          status: 400,
          detail: 'The request is not valid.',
          errors: [{ field: 'body.name', message: 'must not be empty' }],
        }),
      ),
    );
    const api = new ApiClient({ baseUrl: `${base}/`, token: 't' });
    const err = await api
      .request('createProject', { path: { org: 'acme' }, body: { name: '', repository: 'x' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({
      status: 400,
      detail: 'The request is not valid.',
      errors: [{ field: 'body.name', message: 'must not be empty' }],
    });
  });

  it('encodes path parameters and skips empty query values', () => {
    const api = new ApiClient({ baseUrl: base });
    expect(
      api.url(
        'getSchedule',
        { org: 'a', project: 'p', deployment: 'd', schedule: 'daily load/x' },
        { num_upcoming: 3, x: undefined },
      ),
    ).toBe(`${base}/orgs/a/projects/p/deployments/d/schedules/daily%20load%2Fx?num_upcoming=3`);
  });

  it('parses Server-Sent Events split across chunks', async () => {
    handlers.set('/orgs/acme/runs/r1/logs/stream', (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const line = (seq: number) =>
        `id: ${seq}\nevent: line\ndata: ${JSON.stringify({ seq, timestamp: 't', stream: 'stdout', line: `line ${seq}` })}\n\n`;
      const all = `: hello\n\n${line(1)}${line(2)}event: end\ndata: {"id":"r1","status":"succeeded"}\n\n`;
      res.write(all.slice(0, 25));
      setTimeout(() => res.end(all.slice(25)), 20);
    });
    const api = new ApiClient({ baseUrl: base });
    const events = [];
    for await (const e of api.streamLogs(
      { org: 'acme', runId: 'r1' },
      0,
      new AbortController().signal,
    ))
      events.push(e);
    expect(events.map((e) => (e.type === 'line' ? e.line.line : `end ${e.run.status}`))).toEqual([
      'line 1',
      'line 2',
      'end succeeded',
    ]);
  });

  it('names the URL it could not reach', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const api = new ApiClient({ baseUrl: `http://127.0.0.1:${port}` });
    const err = await api.request('listOrgs', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toBe(
      `Could not reach http://127.0.0.1:${port}/orgs: connection refused (ECONNREFUSED)`,
    );
  });
});

describe('the command tree', () => {
  const silent: Output = {
    out: () => undefined,
    err: () => undefined,
    progress: () => undefined,
    endProgress: () => undefined,
    columns: 80,
    interactive: false,
    colour: false,
  };

  it('every command’s --help has an example', () => {
    const program = createProgram(new Context(silent, {}, { XDG_CONFIG_HOME: '/nonexistent' }));
    const commands = allCommands(program);
    expect(commands.length).toBeGreaterThan(40);
    const missing: string[] = [];
    for (const cmd of commands) {
      let help = '';
      cmd.configureOutput({ writeOut: (s) => (help += s), writeErr: (s) => (help += s) });
      cmd.outputHelp();
      if (!/\nExamples?:\n {2}\$ meltano-cloud /.test(help)) missing.push(fullName(cmd));
    }
    expect(missing).toEqual([]);
  });

  it('has the commands of the issue', () => {
    const program = createProgram(new Context(silent, {}, { XDG_CONFIG_HOME: '/nonexistent' }));
    const names = allCommands(program).map(fullName);
    for (const expected of [
      'login',
      'logout',
      'whoami',
      'org list',
      'org use',
      'project list',
      'project use',
      'project create',
      'deployment list',
      'deployment use',
      'deployment create',
      'deployment update',
      'deployment deploy',
      'deployment delete',
      'schedule list',
      'schedule describe',
      'schedule enable',
      'schedule disable',
      'run',
      'history',
      'logs print',
      'job stop',
      'config env list',
      'config env set',
      'config env delete',
      'config notification list',
      'config notification set',
      'config notification update',
      'config notification delete',
      'state list',
      'state get',
      'state set',
      'state clear',
      'web',
    ])
      expect(names).toContain(expected);
  });

  function fullName(cmd: Command): string {
    const parts: string[] = [];
    for (let c: Command | null = cmd; c?.parent; c = c.parent) parts.unshift(c.name());
    return parts.join(' ') || cmd.name();
  }
});

describe('output', () => {
  const rows = [
    { id: 'a'.repeat(36), name: 'a schedule with a rather long name indeed', status: 'succeeded' },
    { id: 'b'.repeat(36), name: 'short', status: 'failed' },
  ];
  const columns = [
    { header: 'ID', value: (r: (typeof rows)[number]) => r.id },
    { header: 'NAME', value: (r: (typeof rows)[number]) => r.name, shrink: true },
    { header: 'STATUS', value: (r: (typeof rows)[number]) => r.status },
  ];

  it('tables fit the width, cutting shrinkable columns with …', () => {
    const text = renderTable(rows, columns, 60);
    for (const line of text.trimEnd().split('\n')) expect([...line].length).toBeLessThanOrEqual(60);
    expect(text).toContain('…');
    expect(text).toContain('a'.repeat(36));
    expect(truncate('abcdef', 4)).toBe('abc…');
  });

  it('markdown and json keep everything', () => {
    expect(renderList('markdown', [{ ...rows[1]!, name: 'a|b' }], columns)).toContain('| a\\|b |');
    expect(JSON.parse(renderList('json', rows, columns))).toEqual(rows);
  });

  it('times in the user’s zone or UTC, durations short', () => {
    expect(formatTime('2026-11-21T09:05:00Z', { utc: true })).toBe('2026-11-21 09:05');
    expect(formatTime('2026-11-21T09:05:07Z', { utc: true }, 'long')).toBe(
      '2026-11-21 09:05:07 UTC',
    );
    expect(formatTime(null, { utc: false })).toBe('-');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(42)).toBe('42s');
  });

  it('dashboard URLs follow the dashboard’s routes', () => {
    expect(dashboardUrl('http://x', { org: 'o', project: 'p', deployment: 'd' })).toBe(
      'http://x/#/o/o/p/p/d/d',
    );
    expect(dashboardUrl('http://x', { org: 'o', project: 'p', runId: 'r' })).toBe(
      'http://x/#/o/o/runs/r',
    );
  });
});
