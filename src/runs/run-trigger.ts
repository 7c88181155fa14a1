import type { Actor, RequestOrigin } from '../auth/actor.js';
import type { RunTrigger } from '../generated/prisma/client.js';

/**
 * The product token the meltano-cloud CLI puts first in its User-Agent (`meltano-cloud-cli/0.1.0`,
 * `cli/api-client.ts`); the dashboard's audit log marks changes "via the CLI" by the same rule.
 */
export const CLI_USER_AGENT = /^meltano-cloud-cli\//;

/**
 * How a run started by a person is recorded: `manual` from the dashboard (a browser session),
 * `cli` from the meltano-cloud CLI, `api` from any other client with a token. The client is told
 * by the request's User-Agent, not by the kind of token: the CLI also runs with tokens made
 * elsewhere (`login --with-token` in CI) and its sign-in token can be pasted into a script, so the
 * token says how someone signed in, not which program asked. The label is what the client
 * declares; it grants nothing and billing prices all three alike (`src/billing/pricing.ts`).
 */
export function manualTrigger(
  actor: Pick<Actor, 'via'>,
  origin: Pick<RequestOrigin, 'userAgent'>,
): Extract<RunTrigger, 'manual' | 'api' | 'cli'> {
  if (actor.via === 'session') return 'manual';
  return CLI_USER_AGENT.test(origin.userAgent ?? '') ? 'cli' : 'api';
}
