import Stripe from 'stripe';
import { classifyStripeError } from '../../../src/billing/stripe-gateway.js';

type RawType = Parameters<typeof Stripe.errors.StripeError.generate>[0]['type'];

const raw = (statusCode: number, type: RawType, message: string, code?: string) =>
  Stripe.errors.StripeError.generate({ statusCode, type, message, ...(code ? { code } : {}) });

describe('what an error from Stripe means for a meter event we may send again', () => {
  it("reads Stripe's refusal of a known identifier as already reported", () => {
    expect(
      classifyStripeError(
        raw(
          400,
          'invalid_request_error',
          'An event already exists with identifier 5f0c8f0e-2d7e-4b8e-9d55-6f8e2a1b3c4d.',
        ),
      ),
    ).toBe('duplicate');
  });

  it('treats other refusals as rejected, so the row is not retried for ever', () => {
    expect(
      classifyStripeError(
        raw(400, 'invalid_request_error', 'No such customer: cus_x', 'resource_missing'),
      ),
    ).toBe('rejected');
    // A message that merely mentions duplicates is not the identifier refusal.
    expect(
      classifyStripeError(raw(400, 'invalid_request_error', 'Duplicate parameter: payload')),
    ).toBe('rejected');
    expect(classifyStripeError(raw(401, 'invalid_request_error', 'Invalid API Key'))).toBe(
      'rejected',
    );
  });

  it('retries what may succeed later: server errors, rate limits, conflicts, network failures', () => {
    expect(classifyStripeError(raw(500, 'api_error', 'Something went wrong'))).toBe('transient');
    expect(classifyStripeError(raw(429, 'invalid_request_error', 'Too many requests'))).toBe(
      'transient',
    );
    expect(classifyStripeError(raw(409, 'invalid_request_error', 'Conflict'))).toBe('transient');
    expect(classifyStripeError(new Error('socket hang up'))).toBe('transient');
    // The same words outside a Stripe error (e.g. our own) are not Stripe's refusal.
    expect(classifyStripeError(new Error('An event already exists with identifier x.'))).toBe(
      'transient',
    );
  });
});
