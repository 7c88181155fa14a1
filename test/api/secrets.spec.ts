import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import supertest from 'supertest';
import { createApiApp } from '../../src/app.js';
import { createRootLogger } from '../../src/common/logger.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { PrismaService } from '../../src/database/prisma.service.js';
import type { OrgId } from '../../src/database/org-id.js';
import { SystemRepository } from '../../src/database/system.repository.js';
import { DataKeyService } from '../../src/secrets/data-keys.js';
import { DataKeysRepository } from '../../src/secrets/data-keys.repository.js';
import {
  LocalMasterKeyWrapper,
  UnknownMasterKeyError,
  decryptValue,
  secretAad,
} from '../../src/secrets/crypto.js';
import { SecretDecryptionError, SecretsService } from '../../src/secrets/secrets.service.js';
import { rotateMasterKey } from '../../scripts/rotate-master-key.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { createTestDatabase, testConfig, type TestDatabase } from '../support/test-env.js';

/** Values that must never appear in a response, a log line or an audit row. */
const VALUE = `pw-${randomBytes(12).toString('hex')}`;
const SERVICE_ACCOUNT = JSON.stringify(
  {
    type: 'service_account',
    private_key: `-----BEGIN PRIVATE KEY-----\n${randomBytes(24).toString('base64')}\n-----END PRIVATE KEY-----\n`,
    client_email: 'loader@acme.iam.gserviceaccount.com',
  },
  null,
  2,
);
const OVERRIDE = `override-${randomBytes(8).toString('hex')}`;
const secretsSeen = [
  VALUE,
  SERVICE_ACCOUNT,
  OVERRIDE,
  JSON.stringify(SERVICE_ACCOUNT).slice(1, -1),
];

describe('secrets', () => {
  let db: TestDatabase;
  let config: AppConfig;
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let http: supertest.Agent;
  let users: RoleUsers;
  let org: SeededOrg;
  const logs: string[] = [];
  let projectPath: string;
  let deploymentPath: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    config = testConfig(db.url, { LOG_LEVEL: 'trace', RATE_LIMIT_PER_MINUTE: '100000' });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    app = await createApiApp(config, { logger: createRootLogger('trace', sink) });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    prisma = app.get(PrismaService);
    http = supertest.agent(app.getHttpServer());
    users = await createRoleUsers(prisma);
    org = await seedOrg(prisma, users);
    projectPath = `/orgs/${org.orgSlug}/projects/${org.projectSlug}/secrets`;
    deploymentPath = `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}/secrets`;
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  const admin = () => users.admin.bearer;
  const expectNoValues = (text: string) => {
    for (const v of secretsSeen) expect(text).not.toContain(v);
    expect(text).not.toContain(Buffer.from(VALUE).toString('base64'));
  };

  it('sets a project secret (201, then 200), showing who and when but never the value', async () => {
    const created = await http
      .put(`${projectPath}/DB_PASSWORD`)
      .set('authorization', admin())
      .send({ value: VALUE })
      .expect(201);
    expect(created.body).toEqual({
      name: 'DB_PASSWORD',
      kind: 'env',
      scope: 'project',
      project_id: org.projectId,
      deployment_id: null,
      created_by: users.admin.login,
      updated_by: users.admin.login,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const replaced = await http
      .put(`${projectPath}/DB_PASSWORD`)
      .set('authorization', users.owner.bearer)
      .send({ value: VALUE, kind: 'env' })
      .expect(200);
    expect(replaced.body).toMatchObject({
      created_by: users.admin.login,
      updated_by: users.owner.login,
    });
    await http
      .put(`${projectPath}/GOOGLE_APPLICATION_CREDENTIALS`)
      .set('authorization', admin())
      .send({ value: SERVICE_ACCOUNT, kind: 'file' })
      .expect(201);
    expectNoValues(JSON.stringify([created.body, replaced.body]));
  });

  it('stores only ciphertext: not the value, a 12-byte IV and a GCM tag', async () => {
    const row = await prisma.secret.findFirstOrThrow({
      where: { organizationId: org.orgId, name: 'DB_PASSWORD' },
    });
    const bytes = Buffer.from(row.ciphertext);
    expect(bytes.toString('utf8')).not.toContain(VALUE);
    expect(bytes.equals(Buffer.from(VALUE))).toBe(false);
    expect(row.iv).toHaveLength(12);
    expect(row.authTag).toHaveLength(16);
    const key = await prisma.organizationDataKey.findUniqueOrThrow({
      where: { organizationId: org.orgId },
    });
    expect(key.masterKeyId).toBe(config.encryption.masterKeyId);
    expect(key.encryptedKey.length).toBeGreaterThan(32);
  });

  it('lets viewers list and read metadata, never values', async () => {
    const list = await http.get(projectPath).set('authorization', users.viewer.bearer).expect(200);
    expect(list.body.results.map((s: { name: string; kind: string }) => [s.name, s.kind])).toEqual([
      ['DB_PASSWORD', 'env'],
      ['GOOGLE_APPLICATION_CREDENTIALS', 'file'],
    ]);
    const page = await http
      .get(`${projectPath}?page_size=1`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(page.body.results).toHaveLength(1);
    const next = await http
      .get(`${projectPath}?page_size=1&page_token=${page.body.pagination.next_page_token}`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(next.body.results[0].name).toBe('GOOGLE_APPLICATION_CREDENTIALS');
    const one = await http
      .get(`${projectPath}/DB_PASSWORD`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(one.body).not.toHaveProperty('value');
    expectNoValues(JSON.stringify([list.body, page.body, next.body, one.body]));
    await http.get(`${projectPath}/NOPE`).set('authorization', users.viewer.bearer).expect(404);
  });

  it('refuses viewers and members (403) and outsiders (404), storing nothing', async () => {
    for (const who of ['viewer', 'member'] as const) {
      const res = await http
        .put(`${projectPath}/BY_${who.toUpperCase()}`)
        .set('authorization', users[who].bearer)
        .send({ value: VALUE });
      expect(res.status).toBe(403);
      await http
        .delete(`${projectPath}/DB_PASSWORD`)
        .set('authorization', users[who].bearer)
        .expect(403);
    }
    await http
      .put(`${projectPath}/BY_OUTSIDER`)
      .set('authorization', users.outsider.bearer)
      .send({ value: VALUE })
      .expect(404);
    await http.get(projectPath).set('authorization', users.outsider.bearer).expect(404);
    expect(await prisma.secret.count({ where: { name: { startsWith: 'BY_' } } })).toBe(0);
  });

  it('refuses invalid and reserved names, oversized values and unknown fields with field errors', async () => {
    const before = await prisma.secret.count();
    const cases: [string, unknown, string][] = [
      ['1STARTS_WITH_DIGIT', { value: VALUE }, 'params.name'],
      ['HAS-DASH', { value: VALUE }, 'params.name'],
      ['X'.repeat(60) + '-', { value: VALUE }, 'params.name'],
      ['MELTANO_ENVIRONMENT', { value: VALUE }, 'params.name'],
      ['MC_STATE_TOKEN', { value: VALUE }, 'params.name'],
      ['MELTANO_PROJECT_ROOT', { value: VALUE }, 'params.name'],
      ['MELTANO_CLOUD_TOKEN', { value: VALUE }, 'params.name'],
      ['PATH', { value: VALUE }, 'params.name'],
      ['HOME', { value: VALUE }, 'params.name'],
      ['GIT_ASKPASS', { value: VALUE }, 'params.name'],
      ['OK_NAME', { value: 'x'.repeat(64 * 1024 + 1) }, 'body.value'],
      ['OK_NAME', { value: '' }, 'body.value'],
      ['OK_NAME', {}, 'body.value'],
      ['OK_NAME', { value: 42 }, 'body.value'],
      ['OK_NAME', { value: VALUE, kind: 'volume' }, 'body.kind'],
      ['OK_NAME', { value: VALUE, visible: true }, 'body.visible'],
    ];
    for (const [name, body, field] of cases) {
      const res = await http
        .put(`${projectPath}/${name}`)
        .set('authorization', admin())
        .send(body as object);
      expect([name, res.status]).toEqual([name, 400]);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expectNoValues(JSON.stringify(res.body));
    }
    expect(await prisma.secret.count()).toBe(before);
  });

  it('overrides project secrets per deployment, for runs only', async () => {
    await http
      .put(`${projectPath}/SHARED`)
      .set('authorization', admin())
      .send({ value: 'project-level' })
      .expect(201);
    const override = await http
      .put(`${deploymentPath}/SHARED`)
      .set('authorization', admin())
      .send({ value: OVERRIDE })
      .expect(201);
    expect(override.body).toMatchObject({ scope: 'deployment', deployment_id: org.deploymentId });
    await http
      .put(`${deploymentPath}/ONLY_IN_PROD`)
      .set('authorization', admin())
      .send({ value: 'prod-only' })
      .expect(201);
    const list = await http
      .get(deploymentPath)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(list.body.results.map((s: { name: string }) => s.name)).toEqual([
      'ONLY_IN_PROD',
      'SHARED',
    ]);

    const run = await app.get(SecretsService).forRun(org.orgId, org.projectId, org.deploymentId);
    expect(run.env).toEqual({ DB_PASSWORD: VALUE, SHARED: OVERRIDE, ONLY_IN_PROD: 'prod-only' });
    expect(run.files).toEqual([
      {
        envVar: 'GOOGLE_APPLICATION_CREDENTIALS',
        fileName: 'GOOGLE_APPLICATION_CREDENTIALS.json',
        content: SERVICE_ACCOUNT,
      },
    ]);
    expect(run.masker.maskLine(`connecting with ${VALUE}`)).toBe('connecting with ****');
    expect(run.masker.maskLine(`auth ${Buffer.from(OVERRIDE).toString('base64')}`)).toBe(
      'auth ****',
    );
    const keyLine = SERVICE_ACCOUNT.split('\n').find((l) => l.includes('client_email'))!;
    expect(run.masker.maskLine(keyLine).trim()).toBe('****');

    // Another deployment of the project gets the project's value.
    const staging = await prisma.deployment.create({
      data: {
        organizationId: org.orgId,
        projectId: org.projectId,
        name: 'staging',
        slug: 'staging',
        environment: 'staging',
        branch: 'develop',
      },
    });
    const other = await app.get(SecretsService).forRun(org.orgId, org.projectId, staging.id);
    expect(other.env).toEqual({ DB_PASSWORD: VALUE, SHARED: 'project-level' });
    // Another organization's ids give nothing.
    const stranger = await seedOrg(prisma, await createRoleUsers(prisma));
    const none = await app
      .get(SecretsService)
      .forRun(stranger.orgId, org.projectId, org.deploymentId);
    expect(none).toMatchObject({ env: {}, files: [] });
  });

  it('a row moved to another name or scope no longer decrypts (AAD)', async () => {
    const source = await prisma.secret.findFirstOrThrow({
      where: { organizationId: org.orgId, name: 'DB_PASSWORD', scope: 'project' },
    });
    const fresh = await seedOrg(prisma, users);
    // Same organization, so the same data key: only the AAD can tell the row was swapped.
    const moved = await prisma.secret.create({
      data: {
        organizationId: org.orgId,
        projectId: org.projectId,
        deploymentId: org.deploymentId,
        scope: org.deploymentId,
        name: 'SWAPPED',
        ciphertext: source.ciphertext,
        iv: source.iv,
        authTag: source.authTag,
      },
    });
    await expect(
      app.get(SecretsService).forRun(org.orgId, org.projectId, org.deploymentId),
    ).rejects.toBeInstanceOf(SecretDecryptionError);
    await expect(
      app.get(SecretsService).forRun(org.orgId, org.projectId, org.deploymentId),
    ).rejects.toThrow(/SWAPPED/);
    await prisma.secret.delete({ where: { id: moved.id } });
    expect(fresh.orgId).not.toBe(org.orgId);
  });

  it('keeps tenants apart: another organization’s project is not found', async () => {
    const other = await seedOrg(prisma, await createRoleUsers(prisma));
    await http
      .put(`/orgs/${org.orgSlug}/projects/${other.projectId}/secrets/X_KEY`)
      .set('authorization', admin())
      .send({ value: VALUE })
      .expect(404);
    await http
      .get(
        `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${other.deploymentId}/secrets`,
      )
      .set('authorization', admin())
      .expect(404);
  });

  it('deletes secrets (204, then 404) and audits set/delete by name only', async () => {
    await http.delete(`${deploymentPath}/ONLY_IN_PROD`).set('authorization', admin()).expect(204);
    await http.delete(`${deploymentPath}/ONLY_IN_PROD`).set('authorization', admin()).expect(404);
    const events = await prisma.auditEvent.findMany({
      where: { organizationId: org.orgId, resourceType: 'secret' },
      orderBy: { createdAt: 'asc' },
    });
    expect(events.map((e) => [e.action, (e.details as { name: string }).name])).toEqual(
      expect.arrayContaining([
        ['secret.set', 'DB_PASSWORD'],
        ['secret.set', 'GOOGLE_APPLICATION_CREDENTIALS'],
        ['secret.set', 'SHARED'],
        ['secret.delete', 'ONLY_IN_PROD'],
      ]),
    );
    expect(events.find((e) => e.action === 'secret.delete')?.actorLogin).toBe(users.admin.login);
    expectNoValues(JSON.stringify(events));
  });

  it('never logs a value, even at trace level and on errors', async () => {
    // Malformed JSON and a wrong content type are errors too.
    await http
      .put(`${projectPath}/LOGGED`)
      .set('authorization', admin())
      .set('content-type', 'text/plain')
      .send(VALUE);
    const malformed = await http
      .put(`${projectPath}/LOGGED`)
      .set('authorization', admin())
      .set('content-type', 'application/json')
      .send(`{"value": "${VALUE}", oops}`);
    expect(malformed.status).toBe(400);
    expectNoValues(JSON.stringify(malformed.body));
    expect(logs.length).toBeGreaterThan(10);
    expectNoValues(logs.join('\n'));
  });

  it('creates one data key per organization, also under concurrent first use', async () => {
    const fresh = await seedOrg(prisma, users);
    const keys = app.get(DataKeyService);
    const all = await Promise.all(
      Array.from({ length: 8 }, () => keys.forOrganization(fresh.orgId as OrgId)),
    );
    for (const k of all) expect(k.equals(all[0]!)).toBe(true);
    expect(await prisma.organizationDataKey.count({ where: { organizationId: fresh.orgId } })).toBe(
      1,
    );
  });

  it('rotates the master key: data keys re-wrapped, secret values untouched and still readable', async () => {
    const before = await prisma.secret.findMany({ orderBy: { id: 'asc' } });
    const keysBefore = await prisma.organizationDataKey.count();
    const newKey = randomBytes(32);
    const rotatedConfig = testConfig(db.url, {
      MASTER_KEY: newKey.toString('base64'),
      MASTER_KEY_ID: 'local-2',
      PREVIOUS_MASTER_KEYS: `${config.encryption.masterKeyId}:${config.encryption.masterKey.toString('base64')}`,
    });
    const result = await rotateMasterKey(rotatedConfig);
    expect(result).toEqual({ rewrapped: keysBefore, alreadyCurrent: 0, failed: [] });

    const rows = await prisma.organizationDataKey.findMany();
    for (const row of rows) {
      expect(row.masterKeyId).toBe('local-2');
      expect(row.rotatedAt).not.toBeNull();
    }
    const after = await prisma.secret.findMany({ orderBy: { id: 'asc' } });
    expect(after.map((s) => Buffer.from(s.ciphertext).toString('hex'))).toEqual(
      before.map((s) => Buffer.from(s.ciphertext).toString('hex')),
    );

    // Only the new master key is needed from now on.
    const onlyNew = new DataKeyService(
      new DataKeysRepository(prisma),
      new LocalMasterKeyWrapper({ id: 'local-2', key: newKey }),
      new SystemRepository(prisma),
    );
    const secret = after.find((s) => s.name === 'DB_PASSWORD')!;
    const dataKey = await onlyNew.forOrganization(org.orgId as OrgId);
    expect(
      decryptValue(
        dataKey,
        {
          ciphertext: Buffer.from(secret.ciphertext),
          iv: Buffer.from(secret.iv),
          authTag: Buffer.from(secret.authTag),
        },
        secretAad(secret),
      ).toString(),
    ).toBe(VALUE);
    // …and the old key alone no longer opens anything.
    const onlyOld = new DataKeyService(
      new DataKeysRepository(prisma),
      new LocalMasterKeyWrapper({
        id: config.encryption.masterKeyId,
        key: config.encryption.masterKey,
      }),
      new SystemRepository(prisma),
    );
    await expect(onlyOld.forOrganization(org.orgId as OrgId)).rejects.toBeInstanceOf(
      UnknownMasterKeyError,
    );

    // Running it again is a no-op.
    expect(await rotateMasterKey(rotatedConfig)).toEqual({
      rewrapped: 0,
      alreadyCurrent: keysBefore,
      failed: [],
    });
    // A data key under a master key nobody configured is reported, not lost.
    const stray = await seedOrg(prisma, users);
    await prisma.organizationDataKey.create({
      data: { organizationId: stray.orgId, encryptedKey: new Uint8Array(60), masterKeyId: 'gone' },
    });
    const partial = await rotateMasterKey(rotatedConfig);
    expect(partial.failed).toEqual([
      { organizationId: stray.orgId, reason: expect.stringContaining('gone') },
    ]);
  });
});
