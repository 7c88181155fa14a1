import type { EventData, WebhookEnvelope } from './events.js';
import { TEST_EVENT_TYPE } from './events.js';

/** Human wording of each event. */
const headlines: Record<string, string> = {
  'run.succeeded': 'Run succeeded',
  'run.failed': 'Run failed',
  'run.cancelled': 'Run cancelled',
  'run.timed_out': 'Run timed out',
  'schedule.skipped': 'Scheduled run skipped',
  'deploy.failed': 'Deploy failed',
  'billing.limit_reached': 'Work paused: billing limit reached',
  [TEST_EVENT_TYPE]: 'Test notification',
};
const emoji: Record<string, string> = {
  'run.succeeded': ':white_check_mark:',
  'run.failed': ':x:',
  'run.cancelled': ':no_entry_sign:',
  'run.timed_out': ':hourglass:',
  'schedule.skipped': ':fast_forward:',
  'deploy.failed': ':warning:',
  'billing.limit_reached': ':credit_card:',
  [TEST_EVENT_TYPE]: ':bell:',
};

export const headline = (type: string): string => headlines[type] ?? type;

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;

interface Summary {
  headline: string;
  /** "Analytics / prod (daily load)" */
  where: string;
  url: string | undefined;
  status: string | undefined;
  reason: string | undefined;
  commit: string | undefined;
  id: string | undefined;
}

function summarize(envelope: WebhookEnvelope): Summary {
  const data: EventData = envelope.data;
  const subject = data.run ?? data.deploy ?? data.billing ?? {};
  const place = [data.project?.name, data.deployment?.name].filter(Boolean).join(' / ');
  const where = data.schedule ? `${place} (${data.schedule})`.trim() : place;
  return {
    headline: headline(envelope.type),
    where: where || data.organization.name,
    url: str(subject.url),
    status: str(subject.status),
    reason: str(subject.reason),
    commit: str(subject.commit_sha),
    id: str(subject.id),
  };
}

/** Slack mrkdwn needs &, < and > escaped. */
const slackEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack incoming-webhook body: `text` for notifications, `blocks` for the message. */
export function slackMessage(envelope: WebhookEnvelope): {
  text: string;
  blocks: Record<string, unknown>[];
} {
  const s = summarize(envelope);
  const icon = emoji[envelope.type] ?? ':bell:';
  const text = `${icon} ${s.headline}: ${s.where}${s.reason ? ` - ${s.reason}` : ''}`;
  const lines = [`${icon} *${slackEscape(s.headline)}*: ${slackEscape(s.where)}`];
  if (s.reason) lines.push(`> ${slackEscape(s.reason)}`);
  if (envelope.data.message) lines.push(slackEscape(envelope.data.message));
  const blocks: Record<string, unknown>[] = [
    { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
  ];
  const context = [
    s.status ? `Status: *${slackEscape(s.status)}*` : undefined,
    s.commit ? `Commit: \`${slackEscape(s.commit.slice(0, 12))}\`` : undefined,
    s.url
      ? `<${s.url}|View ${envelope.data.billing ? 'billing' : envelope.data.deploy ? 'deploy' : 'run'}>`
      : undefined,
  ].filter((v): v is string => v !== undefined);
  if (context.length)
    blocks.push({
      type: 'context',
      elements: context.map((t) => ({ type: 'mrkdwn', text: t })),
    });
  return { text, blocks };
}

/** A plain-text email: what happened, where, why, and the link to look at it. */
export function emailMessage(
  envelope: WebhookEnvelope,
  recipient: string,
): { subject: string; text: string } {
  const s = summarize(envelope);
  const data = envelope.data;
  const subject = `[meltano-cloud] ${s.headline}: ${s.where}`;
  const rows: [string, string | undefined][] = [
    ['Organization', data.organization.name],
    ['Project', data.project ? `${data.project.name} (${data.project.slug})` : undefined],
    [
      'Deployment',
      data.deployment ? `${data.deployment.name} (${data.deployment.slug})` : undefined,
    ],
    ['Schedule', data.schedule ?? undefined],
    ['Status', s.status],
    ['Reason', s.reason],
    ['Commit', s.commit],
    [data.billing ? 'Episode' : data.deploy ? 'Deploy' : 'Run', s.id],
    ['When', envelope.created_at],
  ];
  const body = rows
    .filter((r): r is [string, string] => r[1] !== undefined)
    .map(([k, v]) => `${(k + ':').padEnd(14)}${v}`);
  const text = [
    `${s.headline}: ${s.where}`,
    '',
    ...(data.message ? [data.message, ''] : []),
    ...body,
    '',
    ...(s.url
      ? [
          data.billing
            ? `See billing and usage: ${s.url}`
            : `View the ${data.deploy ? 'deploy' : 'run'} and its log: ${s.url}`,
          '',
        ]
      : []),
    '-- ',
    `You receive this because ${recipient} is a notification recipient of ${data.organization.name} on meltano-cloud.`,
    `Event ${envelope.type}, id ${envelope.id}.`,
  ].join('\n');
  return { subject, text };
}

/** Slack incoming webhooks (`/services/...` on hooks.slack.com or a listed host) get Slack's format. */
export function isSlackWebhook(target: string, extraHosts: readonly string[] = []): boolean {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return false;
  }
  const host = url.hostname.toLowerCase();
  const slackHost = host.includes('slack') || extraHosts.some((h) => h.toLowerCase() === host);
  return slackHost && url.pathname.startsWith('/services/');
}
