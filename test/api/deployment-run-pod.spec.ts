import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';

describe('per-deployment Kubernetes run Pod settings (run_pod)', () => {
  let t: TestApp;
  let users: RoleUsers;
  let org: SeededOrg;
  const path = () =>
    `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}`;
  const patch = (body: object, bearer = users.owner.bearer) =>
    t.http.patch(path()).set('authorization', bearer).send(body);

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
  });
  afterAll(() => t.close());

  const settings = {
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
    node_selector: { 'cloud.google.com/gke-nodepool': 'etl' },
    tolerations: [
      { key: 'dedicated', operator: 'Equal', value: 'etl', effect: 'NoSchedule' },
      { key: 'spot', operator: 'Exists', effect: 'NoExecute', toleration_seconds: 60 },
    ],
  };

  it('is empty by default, stored as sent, shown back, and replaced as a whole', async () => {
    const before = await t.http.get(path()).set('authorization', users.viewer.bearer).expect(200);
    expect(before.body.run_pod).toEqual({});
    const res = await patch({ run_pod: settings }).expect(200);
    expect(res.body.run_pod).toEqual(settings);
    const row = await t.prisma.deployment.findUniqueOrThrow({ where: { id: org.deploymentId } });
    expect(row.runPod).toEqual(settings);
    const replaced = await patch({ run_pod: { node_selector: { pool: 'small' } } }).expect(200);
    expect(replaced.body.run_pod).toEqual({ node_selector: { pool: 'small' } });
  });

  it('only admins change it', async () => {
    await patch({ run_pod: settings }, users.member.bearer).expect(403);
  });

  it.each([
    [{ resources: { limits: { memory: 'lots' } } }, 'body.run_pod.resources.limits.memory'],
    [{ resources: { requests: { cpu: '0' } } }, 'body.run_pod.resources.requests.cpu'],
    [
      { resources: { requests: { cpu: '3' }, limits: { cpu: '2000m' } } },
      'body.run_pod.resources.requests.cpu',
    ],
    [{ resources: { limits: { gpu: '1' } } }, 'body.run_pod.resources.limits'],
    [{ node_selector: { 'bad key!': 'x' } }, 'body.run_pod.node_selector'],
    [{ node_selector: { pool: 'not a label value' } }, 'body.run_pod.node_selector.pool'],
    [
      { tolerations: [{ key: 'a', operator: 'Exists', value: 'b' }] },
      'body.run_pod.tolerations.0.value',
    ],
    [{ tolerations: [{ value: 'b' }] }, 'body.run_pod.tolerations.0.operator'],
    [
      { tolerations: [{ key: 'a', effect: 'NoSchedule', toleration_seconds: 5 }] },
      'body.run_pod.tolerations.0.toleration_seconds',
    ],
    [{ tolerations: [{ key: 'a', effect: 'Sometimes' }] }, 'body.run_pod.tolerations.0.effect'],
    [{ priority: 'high' }, 'body.run_pod'],
  ])('refuses %j with a 400 naming %s', async (runPod, field) => {
    const res = await patch({ run_pod: runPod }).expect(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContainEqual(
      expect.stringMatching(new RegExp(`^${field.replace(/\./g, '\\.')}`)),
    );
  });
});
