import type {
  ApiToken,
  AuditEvent,
  Invitation,
  Membership,
  NotificationChannel,
  NotificationDelivery,
  Organization,
  User,
} from '../../../src/generated/prisma/client.js';
import { iso, presentToken, presentUser } from '../../../src/auth/auth.presenter.js';
import { presentAuditEvent } from '../../../src/audit/audit.presenter.js';
import {
  presentInvitation,
  presentMember,
  presentOrg,
} from '../../../src/organizations/organizations.presenter.js';
import { presentSecret } from '../../../src/secrets/secrets.presenter.js';
import type { SecretMeta } from '../../../src/secrets/secrets.repository.js';
import {
  presentChannel,
  presentDelivery,
  redactTarget,
} from '../../../src/notifications/notifications.presenter.js';

const at = new Date('2026-11-21T09:00:00.000Z');
const when = at.toISOString();
const user: User = {
  id: 'u1',
  githubId: 42n,
  login: 'octocat',
  name: 'Octo Cat',
  email: null,
  avatarUrl: 'https://avatars.test/1',
  createdAt: at,
  updatedAt: at,
  lastLoginAt: null,
};

describe('presenters', () => {
  it('presents users and tokens', () => {
    expect(iso(null)).toBeNull();
    expect(presentUser(user)).toEqual({
      id: 'u1',
      login: 'octocat',
      name: 'Octo Cat',
      email: null,
      avatar_url: 'https://avatars.test/1',
      github_id: '42',
    });
    expect(presentUser({ ...user, githubId: null }).github_id).toBeNull();
    const token = {
      id: 't1',
      name: 'ci',
      prefix: 'mc_pat_abcde',
      expiresAt: null,
      lastUsedAt: at,
      createdAt: at,
    } as ApiToken;
    expect(presentToken(token)).toEqual({
      id: 't1',
      name: 'ci',
      prefix: 'mc_pat_abcde',
      expires_at: null,
      last_used_at: when,
      created_at: when,
    });
  });

  it('presents organizations, members, invitations and audit events', () => {
    const org = {
      id: 'o1',
      name: 'Acme',
      slug: 'acme',
      billingAccountNumber: 'MC-1',
      maxRunTimeoutSeconds: 60,
      maxConcurrentRuns: 2,
      logRetentionDays: 7,
      createdAt: at,
    } as Organization;
    expect(presentOrg(org, 'admin')).toEqual({
      id: 'o1',
      name: 'Acme',
      slug: 'acme',
      billing_account_number: 'MC-1',
      role: 'admin',
      settings: { max_run_timeout_seconds: 60, max_concurrent_runs: 2, log_retention_days: 7 },
      created_at: when,
    });
    const membership = { userId: 'u1', role: 'viewer', createdAt: at, user } as Membership & {
      user: User;
    };
    expect(presentMember(membership)).toEqual({
      user_id: 'u1',
      login: 'octocat',
      name: 'Octo Cat',
      avatar_url: 'https://avatars.test/1',
      role: 'viewer',
      joined_at: when,
    });
    const invitation = { id: 'i1', githubLogin: 'hubot', role: 'member', createdAt: at };
    expect(presentInvitation(invitation as Invitation)).toEqual({
      id: 'i1',
      login: 'hubot',
      role: 'member',
      created_at: when,
    });
    const event = {
      id: 'e1',
      action: 'member.add',
      actorLogin: 'octocat',
      resourceType: 'membership',
      resourceId: 'm1',
      ip: '127.0.0.1',
      userAgent: null,
      details: { role: 'member' },
      createdAt: at,
    } as unknown as AuditEvent;
    expect(presentAuditEvent(event)).toEqual({
      id: 'e1',
      action: 'member.add',
      actor: 'octocat',
      actor_name: null,
      resource_type: 'membership',
      resource_id: 'm1',
      resource_name: null,
      ip: '127.0.0.1',
      user_agent: null,
      details: { role: 'member' },
      created_at: when,
    });
    // Names looked up for the page win; without one, the name the event recorded.
    const named = { ...event, actorUserId: 'u1' } as AuditEvent;
    const names = {
      actors: new Map([['u1', 'The Octocat']]),
      resources: new Map([['membership:m1', 'hubot']]),
    };
    expect(presentAuditEvent(named, names)).toMatchObject({
      actor_name: 'The Octocat',
      resource_name: 'hubot',
    });
    const state = {
      ...event,
      resourceType: 'deployment',
      resourceId: 'd1',
      details: { state_id: 'prod:load' },
    } as unknown as AuditEvent;
    const deployments = { actors: new Map(), resources: new Map([['deployment:d1', 'A / prod']]) };
    expect(presentAuditEvent(state, deployments).resource_name).toBe('A / prod · state prod:load');
    const gone = { ...event, details: { name: 'OLD_SECRET' } } as unknown as AuditEvent;
    expect(presentAuditEvent(gone, { actors: new Map(), resources: new Map() })).toMatchObject({
      resource_name: 'OLD_SECRET',
    });
  });

  it('presents secrets with the logins of who set them', () => {
    const secret = {
      name: 'DB_PASSWORD',
      kind: 'env',
      scope: 'dep-1',
      projectId: 'p1',
      deploymentId: 'dep-1',
      createdById: 'u1',
      updatedById: 'gone',
      createdAt: at,
      updatedAt: at,
    } as SecretMeta;
    expect(presentSecret(secret, new Map([['u1', 'octocat']]))).toEqual({
      name: 'DB_PASSWORD',
      kind: 'env',
      scope: 'deployment',
      project_id: 'p1',
      deployment_id: 'dep-1',
      created_by: 'octocat',
      updated_by: null,
      created_at: when,
      updated_at: when,
    });
    expect(presentSecret({ ...secret, scope: 'project' }, new Map()).scope).toBe('project');
  });

  it('presents channels (redacted for non-editors) and deliveries', () => {
    expect(redactTarget('webhook', 'https://hooks.test/a?token=x')).toBe('https://hooks.test/…');
    expect(redactTarget('webhook', 'https://hooks.test/')).toBe('https://hooks.test');
    expect(redactTarget('webhook', 'not a url')).toBe('…');
    expect(redactTarget('email', 'ops@acme.test')).toBe('ops@acme.test');
    const channel = {
      id: 'c1',
      kind: 'webhook',
      target: 'https://hooks.slack.com/services/T/B/X',
      active: true,
      projectId: null,
      filters: [{ events: ['run.failed'] }],
      createdAt: at,
      updatedAt: at,
    } as unknown as NotificationChannel;
    expect(presentChannel(channel, 'admin', [])).toMatchObject({
      target: 'https://hooks.slack.com/services/T/B/X',
      slack: true,
      filters: [{ events: ['run.failed'] }],
      created_at: when,
    });
    expect(presentChannel(channel, 'viewer', []).target).toBe('https://hooks.slack.com/…');
    const delivery = {
      id: 'd1',
      channelId: 'c1',
      eventType: 'run.failed',
      idempotencyKey: 'k',
      status: 'pending',
      attempts: null,
      deliveredAt: null,
      createdAt: at,
      payload: null,
    } as unknown as NotificationDelivery;
    expect(presentDelivery(delivery)).toEqual({
      id: 'd1',
      channel_id: 'c1',
      event_type: 'run.failed',
      idempotency_key: 'k',
      status: 'pending',
      attempts: [],
      delivered_at: null,
      created_at: when,
      payload: {},
    });
  });
});
