import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import Stripe from 'stripe';
import { buildOpenApiDocument } from '../../src/app.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { startFakeStripe, stripeTestEnv, type FakeStripe } from '../support/fake-stripe.js';
import { githubAppEnv } from '../support/github-app.js';
import { webhookDelivery } from '../support/github-payloads.js';
import { report } from './support/harness.js';

/**
 * Property-based fuzzing (fast-check) of every mutating route of the OpenAPI document the app
 * generates, and of both webhook routes (signed, so the payload parsers are reached): bodies
 * generated from each route's JSON schema, mixed with hostile values (NUL, control characters,
 * huge numbers and strings, prototype keys, wrong types, unknown fields), path parameters from
 * the seeded organization or hostile, and the wrong content types. No request gets a 5xx, and a
 * refused request (4xx) changes nothing stored.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: Json[];
  const?: Json;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  format?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
}
type Method = 'post' | 'put' | 'patch' | 'delete';
interface Route {
  method: Method;
  template: string;
  body: JsonSchema | null;
}

const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

const hostileString = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\n\r\t\u000b\u000c',
  '%00',
  '%',
  '%zz',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  "'; DROP TABLE runs; --",
  '\ud800',
  '０．０．０．０',
  'x'.repeat(5_000),
  'é'.repeat(300),
  '2026-13-45T99:99:99Z',
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
);
const hostileNumber = fc.constantFrom(
  -1,
  0,
  1e308,
  -1e308,
  2 ** 53 + 1,
  999_999_999_999,
  0.5,
  Number.MIN_VALUE,
);
const anyJson: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;
const deepJson = fc
  .integer({ min: 60, max: 3_000 })
  .map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as Json);

/** A value for `schema`: mostly of its shape (so validation past the first field is reached), sometimes hostile. */
function fromSchema(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<Json> {
  const hostile = fc.oneof(hostileString, hostileNumber, fc.constant(null), anyJson);
  if (!schema || depth > 4) return hostile;
  const shaped = shapedValue(schema, depth);
  return fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: hostile });
}

function shapedValue(schema: JsonSchema, depth: number): fc.Arbitrary<Json> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants?.length) return fc.oneof(...variants.map((v) => fromSchema(v, depth + 1)));
  const type = (Array.isArray(schema.type) ? schema.type[0] : schema.type) ?? 'any';
  switch (type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const keys = Object.keys(properties);
      const record = fc.record(
        Object.fromEntries(keys.map((k) => [k, fromSchema(properties[k], depth + 1)])),
        { requiredKeys: (schema.required ?? []).filter((k) => keys.includes(k)) },
      ) as fc.Arbitrary<Record<string, Json>>;
      // Sometimes an unknown field, a prototype key, or a required field missing.
      return fc
        .tuple(
          record,
          fc.option(fc.constantFrom('__proto__', 'constructor', 'unknown_field', 'prototype')),
          anyJson,
        )
        .map(([value, extra, extraValue]) =>
          extra === null ? value : { ...value, [extra]: extraValue },
        );
    }
    case 'array':
      return fc.oneof(
        fc.array(fromSchema(schema.items, depth + 1), { maxLength: 4 }),
        fc.array(anyJson, { maxLength: 60 }),
      );
    case 'string':
      return fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        hostileString,
        ...(schema.format === 'uuid' ? [fc.uuid()] : []),
      );
    case 'integer':
    case 'number':
      return fc.oneof(
        fc.integer(),
        fc.double(),
        hostileNumber,
        fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 1e6, 1e9) }),
      );
    case 'boolean':
      return fc.oneof(fc.boolean(), fc.constantFrom('true', 0, 1));
    default:
      return anyJson;
  }
}

/** A request body as sent: JSON (most of the time), an empty or malformed body, or another content type. */
const encodings = (value: fc.Arbitrary<Json>) =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: value.map((v) => ({ type: 'application/json', raw: JSON.stringify(v) })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { type: 'application/json', raw: '' },
        { type: 'application/json', raw: '{"a":' },
        { type: 'application/json', raw: '{"__proto__":{"admin":true}}' },
        { type: 'application/x-www-form-urlencoded', raw: 'name=x&role=owner' },
        { type: 'text/plain', raw: 'hello' },
        { type: 'application/json; charset=utf-16', raw: '{}' },
      ),
    },
    {
      weight: 1,
      arbitrary: deepJson.map((v) => ({ type: 'application/json', raw: JSON.stringify(v) })),
    },
  );

/** A path parameter: the seeded organization's own value, or a hostile one (percent-encoded as a client would). */
const pathValue = (own: string) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(own) },
    {
      weight: 2,
      arbitrary: fc.oneof(hostileString, fc.string({ maxLength: 30 })).map(encodeURIComponent),
    },
    { weight: 1, arbitrary: fc.constantFrom('%00', '%zz', '%', 'x'.repeat(1_200), '..') },
  );

function ownValues(org: SeededOrg, channelId: string): Record<string, string> {
  return {
    org: org.orgSlug,
    project: org.projectSlug,
    deployment: org.deploymentSlug,
    schedule: encodeURIComponent(org.scheduleName),
    userId: org.targetUserId,
    invitationId: org.invitationId,
    installation: '12345',
    name: 'WAREHOUSE_PASSWORD',
    deployId: org.deployId,
    stateId: encodeURIComponent('prod:load'),
    runId: org.finishedRunId,
    id: channelId,
  };
}

describe('fuzzing every mutating route and the webhooks (fast-check)', () => {
  let t: TestApp;
  let users: RoleUsers;
  let github: FakeGitHub;
  let stripe: FakeStripe;
  const stripeSecret = 'whsec_fuzz';
  const totals = {
    requests: 0,
    accepted: 0,
    refused: 0,
    server_errors: 0,
    refused_with_changes: 0,
  };
  const failures: string[] = [];

  beforeAll(async () => {
    github = await startFakeGitHub();
    stripe = await startFakeStripe();
    t = await createTestApp({
      ...githubAppEnv(github),
      ...stripeTestEnv(stripe, stripeSecret),
      RATE_LIMIT_PER_MINUTE: '1000000',
    });
    users = await createRoleUsers(t.prisma);
  });
  afterAll(async () => {
    report('fuzzing (fast-check)', { ...totals, seed: SEED, runs_per_route: RUNS_PER_ROUTE });
    await t.close();
    await github.close();
    await stripe.close();
  });

  /** Every stored row, one digest per table (sessions and token bookkeeping aside). */
  async function snapshot(): Promise<Record<string, string>> {
    const tables = await t.prisma.$queryRawUnsafe<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
          AND table_name NOT IN ('_prisma_migrations', 'api_tokens', 'sessions')`,
    );
    const digests = await t.prisma.$queryRawUnsafe<{ name: string; digest: string }[]>(
      tables
        .map(
          ({ table_name: name }) =>
            `SELECT '${name}' AS name, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS digest FROM "${name}" x`,
        )
        .join(' UNION ALL '),
    );
    return Object.fromEntries(digests.map((d) => [d.name, d.digest]));
  }

  const changed = (a: Record<string, string>, b: Record<string, string>) =>
    Object.keys({ ...a, ...b }).filter((k) => a[k] !== b[k]);

  async function check(
    label: string,
    send: () => Promise<{ status: number; text: string }>,
  ): Promise<boolean> {
    const before = await snapshot();
    const res = await send();
    totals.requests++;
    if (res.status >= 500) {
      totals.server_errors++;
      failures.push(`${label} → ${res.status} ${res.text.slice(0, 300)}`);
      return false;
    }
    if (res.status < 400) totals.accepted++;
    else {
      totals.refused++;
      const tables = changed(before, await snapshot());
      if (tables.length) {
        totals.refused_with_changes++;
        failures.push(`${label} → ${res.status} but changed ${tables.join(', ')}`);
        return false;
      }
    }
    return true;
  }

  it('no mutating route answers 5xx, and a refused request changes nothing stored', async () => {
    const document = buildOpenApiDocument(t.app, t.config);
    const routes: Route[] = [];
    for (const [template, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations as Record<string, unknown>)) {
        if (!['post', 'put', 'patch', 'delete'].includes(method)) continue;
        const content = (
          operation as { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }
        ).requestBody?.content;
        routes.push({
          method: method as Method,
          template,
          body: content?.['application/json']?.schema ?? null,
        });
      }
    }
    expect(routes.length).toBeGreaterThan(20);
    // Destructive routes last, so the others are tried on a full organization.
    routes.sort((a, b) => Number(a.method === 'delete') - Number(b.method === 'delete'));
    for (const route of routes) {
      const org = await seedOrg(t.prisma, users);
      const channel = await t.http
        .post(`/orgs/${org.orgSlug}/notifications`)
        .set('authorization', users.owner.bearer)
        .send({
          kind: 'webhook',
          target: 'https://hooks.example.com/fuzz',
          filters: [{ events: ['run.failed'] }],
        })
        .expect(201);
      const own = ownValues(org, channel.body.id as string);
      const params = [...route.template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      const request = fc.record({
        path: fc.tuple(...params.map((p) => pathValue(own[p] ?? 'x'))),
        body: encodings(fromSchema(route.body ?? undefined)),
        actor: fc.constantFrom('owner', 'admin', 'viewer'),
      });
      await fc
        .assert(
          fc.asyncProperty(request, async ({ path, body, actor }) => {
            let i = 0;
            const url = route.template.replace(/\{\w+\}/g, () => path[i++] ?? '');
            const label = `${route.method.toUpperCase()} ${url} as ${actor} (${body.type}) ${body.raw.slice(0, 200)}`;
            // DELETE /me/token revokes the credential it is sent with: each try gets a fresh one.
            const bearer =
              route.template === '/me/token'
                ? `Bearer ${
                    (
                      await t.http
                        .post('/me/tokens')
                        .set('authorization', users[actor as 'owner' | 'admin' | 'viewer'].bearer)
                        .send({ name: 'fuzz', expires_in_days: 1 })
                        .expect(201)
                    ).body.token as string
                  }`
                : users[actor as 'owner' | 'admin' | 'viewer'].bearer;
            return check(label, () =>
              t.http[route.method](url)
                .set('authorization', bearer)
                .set('content-type', body.type)
                .send(body.raw)
                .then((r) => ({ status: r.status, text: r.text })),
            );
          }),
          { numRuns: RUNS_PER_ROUTE, seed: SEED, endOnFailure: true },
        )
        .catch(() => undefined); // every failure is collected in `failures`, reported below
    }
    expect(failures).toEqual([]);
  });

  it('GitHub and Stripe webhooks, signed, with payloads of any shape: no 5xx, a refused delivery stores nothing', async () => {
    const event = fc.constantFrom(
      'push',
      'installation',
      'installation_repositories',
      'github_app_authorization',
      'ping',
      'x',
      '',
    );
    const payload = fc.oneof(
      anyJson,
      fc.record({
        action: fc.oneof(
          fc.constantFrom('created', 'deleted', 'added', 'removed', 'suspend'),
          hostileString,
        ),
        installation: fc.oneof(
          fc.record({ id: fc.oneof(fc.integer(), hostileNumber, hostileString) }),
          anyJson,
        ),
        repository: fc.oneof(
          fc.record({ id: fc.integer(), full_name: fc.oneof(fc.string(), hostileString) }),
          anyJson,
        ),
        ref: fc.oneof(fc.constant('refs/heads/main'), hostileString),
        after: fc.oneof(fc.hexaString({ minLength: 40, maxLength: 40 }), hostileString),
        repositories_added: fc.array(anyJson, { maxLength: 3 }),
      }),
      deepJson,
    );
    await fc
      .assert(
        fc.asyncProperty(event, payload, fc.boolean(), async (name, body, signed) => {
          const delivery = webhookDelivery(
            name,
            body,
            signed ? github.webhookSecret : 'wrong-secret',
            randomUUID(),
            { targetId: github.appId },
          );
          return check(`POST /github/webhooks ${name} ${delivery.body.slice(0, 200)}`, () =>
            t.http
              .post('/github/webhooks')
              .set(delivery.headers)
              .send(delivery.body)
              .then((r) => ({ status: r.status, text: r.text })),
          );
        }),
        { numRuns: RUNS_PER_ROUTE * 4, seed: SEED, endOnFailure: true },
      )
      .catch(() => undefined);

    const signer = new Stripe('sk_test_meltano');
    const stripeEvent = fc.record({
      id: fc.oneof(fc.constant(`evt_${randomUUID()}`), hostileString),
      type: fc.oneof(
        fc.constantFrom(
          'checkout.session.completed',
          'customer.subscription.updated',
          'customer.subscription.deleted',
          'invoice.payment_failed',
          'invoice.paid',
        ),
        hostileString,
      ),
      created: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), hostileNumber),
      data: fc.oneof(
        fc.record({
          object: fc.record({
            id: fc.oneof(fc.constant('sub_1'), hostileString),
            customer: fc.oneof(fc.constant('cus_unknown'), hostileString, hostileNumber),
            subscription: fc.oneof(fc.constant('sub_1'), anyJson),
            client_reference_id: fc.oneof(fc.uuid(), hostileString, fc.constant(null)),
            status: fc.oneof(fc.constantFrom('active', 'past_due', 'canceled'), hostileString),
            mode: fc.oneof(fc.constant('subscription'), hostileString),
            metadata: fc.oneof(fc.record({ organization_id: fc.uuid() }), anyJson),
          }),
        }),
        fc.record({ object: anyJson }),
        anyJson,
      ),
    });
    await fc
      .assert(
        fc.asyncProperty(fc.oneof(stripeEvent, anyJson), fc.boolean(), async (body, signed) => {
          const raw = JSON.stringify(body);
          const signature = signer.webhooks.generateTestHeaderString({
            payload: raw,
            secret: signed ? stripeSecret : 'whsec_wrong',
          });
          return check(`POST /stripe/webhooks ${raw.slice(0, 200)}`, () =>
            t.http
              .post('/stripe/webhooks')
              .set('content-type', 'application/json')
              .set('stripe-signature', signature)
              .send(raw)
              .then((r) => ({ status: r.status, text: r.text })),
          );
        }),
        { numRuns: RUNS_PER_ROUTE * 4, seed: SEED, endOnFailure: true },
      )
      .catch(() => undefined);
    expect(failures).toEqual([]);
  });
});
