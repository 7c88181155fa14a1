/**
 * A local stand-in for the Stripe API: a real HTTP server speaking the
 * endpoints meltano-cloud calls through the official SDK (pointed here by
 * `STRIPE_API_URL`): customers, Checkout sessions, Customer Portal sessions,
 * billing meter events and subscription cancellation. Requests arrive
 * form-encoded (`metadata[key]=…`, `line_items[0][price]=…`) and are parsed
 * back into objects and RECORDED, so tests check what we send; replies are
 * JSON shaped as in Stripe's API reference, errors as `{ error: { type,
 * code, message } }`. Idempotency-Key is honoured as Stripe does (the same
 * key replays the first response); meter event identifiers are unique.
 */
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StripeRequest {
  method: string;
  path: string;
  body: Record<string, unknown>;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
}

/** What to do with one meter event: accept, fail (not recorded), or accept and then lose the response. */
export type MeterEventFate = 'accept' | 'fail' | 'accept-then-fail';

export interface FakeStripe {
  url: string;
  requests: StripeRequest[];
  /** Meter events Stripe holds, in the order it accepted them. */
  meterEvents: {
    identifier: string;
    event_name: string;
    payload: Record<string, string>;
    timestamp: number;
  }[];
  customers: Map<string, Record<string, unknown>>;
  /** Decides the fate of each meter event (default: accept). */
  meterEventFate: (identifier: string, attempt: number) => MeterEventFate;
  requestsTo(path: string): StripeRequest[];
  close(): Promise<void>;
}

const id = (prefix: string): string => `${prefix}_${randomBytes(12).toString('hex')}`;

/** `a[b][0][c]=v` → `{ a: { b: [ { c: 'v' } ] } }` (Stripe's form encoding, as the SDK writes it). */
export function parseStripeForm(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [fullKey, value] of new URLSearchParams(text)) {
    const parts = fullKey.replace(/\]/g, '').split('[');
    let node: Record<string, unknown> | unknown[] = root;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1] ?? '');
      const key: string | number = Array.isArray(node) ? Number(part) : part;
      const container = node as Record<string | number, unknown>;
      if (last) container[key] = value;
      else {
        container[key] ??= nextIsIndex ? [] : {};
        node = container[key] as Record<string, unknown> | unknown[];
      }
    });
  }
  return root;
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const requests: StripeRequest[] = [];
  const meterEvents: FakeStripe['meterEvents'] = [];
  const customers = new Map<string, Record<string, unknown>>();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const attempts = new Map<string, number>();
  const fake = {
    requests,
    meterEvents,
    customers,
    meterEventFate: (() => 'accept') as FakeStripe['meterEventFate'],
  };

  const error = (status: number, type: string, message: string, code?: string) => ({
    status,
    body: { error: { type, message, ...(code ? { code } : {}) } },
  });

  /** A new session of `object` for the request's existing customer, or Stripe's resource_missing. */
  function customerSession(
    body: Record<string, unknown>,
    prefix: string,
    object: string,
    fields: (sessionId: string) => Record<string, unknown>,
  ): { status: number; body: unknown } {
    if (typeof body.customer !== 'string' || !customers.has(body.customer))
      return error(
        400,
        'invalid_request_error',
        `No such customer: '${String(body.customer)}'`,
        'resource_missing',
      );
    const sessionId = id(prefix);
    const created = Math.floor(Date.now() / 1000);
    return {
      status: 200,
      body: { id: sessionId, object, created, livemode: false, ...fields(sessionId) },
    };
  }

  function route(
    method: string,
    path: string,
    body: Record<string, unknown>,
  ): { status: number; body: unknown } {
    const now = Math.floor(Date.now() / 1000);
    if (method === 'POST' && path === '/v1/customers') {
      const customer = {
        id: id('cus'),
        object: 'customer',
        created: now,
        livemode: false,
        name: body.name ?? null,
        description: body.description ?? null,
        email: body.email ?? null,
        metadata: body.metadata ?? {},
      };
      customers.set(customer.id, customer);
      return { status: 200, body: customer };
    }
    if (method === 'POST' && path === '/v1/checkout/sessions')
      return customerSession(body, 'cs_test', 'checkout.session', (sessionId) => ({
        mode: body.mode,
        status: 'open',
        customer: body.customer,
        client_reference_id: body.client_reference_id ?? null,
        success_url: body.success_url,
        cancel_url: body.cancel_url ?? null,
        metadata: body.metadata ?? {},
        subscription: null,
        url: `https://checkout.stripe.com/c/pay/${sessionId}`,
      }));
    if (method === 'POST' && path === '/v1/billing_portal/sessions')
      return customerSession(body, 'bps', 'billing_portal.session', (sessionId) => ({
        customer: body.customer,
        return_url: body.return_url ?? null,
        url: `https://billing.stripe.com/p/session/${sessionId}`,
      }));
    if (method === 'POST' && path === '/v1/billing/meter_events') {
      const identifier = typeof body.identifier === 'string' ? body.identifier : id('mev');
      const payload = (body.payload ?? {}) as Record<string, string>;
      if (!payload.stripe_customer_id || !customers.has(payload.stripe_customer_id))
        return error(
          400,
          'invalid_request_error',
          'No customer found for stripe_customer_id',
          'resource_missing',
        );
      if (!/^\d+$/.test(payload.value ?? ''))
        return error(
          400,
          'invalid_request_error',
          'value must be a whole number',
          'parameter_invalid_integer',
        );
      if (meterEvents.some((e) => e.identifier === identifier))
        return error(
          400,
          'invalid_request_error',
          // Stripe's own wording, with no error code.
          `An event already exists with identifier ${identifier}.`,
        );
      const attempt = (attempts.get(identifier) ?? 0) + 1;
      attempts.set(identifier, attempt);
      const fate = fake.meterEventFate(identifier, attempt);
      if (fate === 'fail') return error(500, 'api_error', 'Something went wrong on our end.');
      const event = {
        identifier,
        event_name: String(body.event_name),
        payload,
        timestamp: Number(body.timestamp ?? now),
      };
      meterEvents.push(event);
      if (fate === 'accept-then-fail') return error(500, 'api_error', 'The response was lost.');
      return {
        status: 200,
        body: { object: 'billing.meter_event', created: now, livemode: false, ...event },
      };
    }
    const cancel = /^\/v1\/subscriptions\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && cancel)
      return {
        status: 200,
        body: { id: cancel[1], object: 'subscription', status: 'canceled', canceled_at: now },
      };
    return error(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
  }

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const raw = Buffer.concat(chunks).toString();
      const body =
        req.method === 'GET' ? parseStripeForm(url.search.slice(1)) : parseStripeForm(raw);
      const key = req.headers['idempotency-key'];
      const idempotencyKey = typeof key === 'string' ? key : undefined;
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        body,
        idempotencyKey,
        authorization: req.headers.authorization,
      });
      const cacheKey = idempotencyKey ? `${req.method} ${url.pathname} ${idempotencyKey}` : null;
      const answer =
        (cacheKey && idempotent.get(cacheKey)) || route(req.method ?? 'GET', url.pathname, body);
      // Stripe replays the first response to a key, except server errors (which may be retried).
      if (cacheKey && answer.status < 500) idempotent.set(cacheKey, answer);
      res.writeHead(answer.status, {
        'content-type': 'application/json',
        'request-id': id('req'),
        // Keep the SDK from retrying on its own: tests decide what happens next.
        'stripe-should-retry': 'false',
      });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    requestsTo: (path: string) => requests.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/**
 * The configuration that points the app at a fake Stripe (the price, meter
 * and a webhook signing secret of the test's choosing).
 */
export function stripeTestEnv(
  stripe: Pick<FakeStripe, 'url'>,
  webhookSecret: string,
  priceId = 'price_credits_metered',
): Record<string, string> {
  return {
    RATE_LIMIT_PER_MINUTE: '100000',
    STRIPE_SECRET_KEY: 'sk_test_meltano',
    STRIPE_API_URL: stripe.url,
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    STRIPE_PRICE_ID: priceId,
    STRIPE_METER_EVENT_NAME: 'meltano_credits',
  };
}
