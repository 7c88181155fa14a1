/**
 * helm/meltano-cloud, rendered by ./render-helm.ts (no helm binary here) with
 * the default values and with the production-like override (Ingress on,
 * Kubernetes executor): every object is validated against its Kubernetes
 * schema, then held to the chart's security and wiring promises.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/app-config.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../../src/runs/executors/kubernetes/manifests.js';
import {
  FREE_FORM_VALUES,
  SECRET_ENV,
  SECRET_VALUES,
  containerEnv,
  documentedEnvNames,
  kindKey,
  type Obj,
  validateManifest,
  type Container,
} from './k8s-checks.js';
import {
  TemplateError,
  loadChart,
  renderChart,
  renderManifests,
  unknownValueKeys,
} from './render-helm.js';

const ROOT = process.cwd();
const CHART_DIR = path.join(ROOT, 'helm/meltano-cloud');
const chart = loadChart(CHART_DIR);
const documented = documentedEnvNames(path.join(ROOT, '.env.example'));

const RELEASE = 'mc';
const NAMESPACE = 'meltano-cloud';
const RUNS_NAMESPACE = 'runs-ns';

const OVERRIDE = {
  publicUrl: 'https://meltano.example.com',
  ingress: {
    enabled: true,
    className: 'nginx',
    host: 'meltano.example.com',
    tlsSecretName: 'meltano-tls',
    annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
  },
  executor: { type: 'kubernetes', kubernetes: { pluginCacheClaim: 'meltano-plugins' } },
  runs: { namespace: RUNS_NAMESPACE },
  env: { LOG_LEVEL: 'debug', GITHUB_OAUTH_CLIENT_ID: 'Iv1.0123456789abcdef' },
};

interface Rendered {
  name: string;
  objects: Obj[];
  kubernetes: boolean;
  /** What the existingSecret holds for this render. */
  secret: Record<string, string>;
}

function render(
  name: string,
  values: Obj,
  kubernetes: boolean,
  secret: Record<string, string>,
): Rendered {
  const objects = renderManifests(chart, {
    values,
    releaseName: RELEASE,
    namespace: NAMESPACE,
  }).map((m) => m.object);
  return { name, objects, kubernetes, secret };
}

const renders: Rendered[] = [
  render('default values', {}, false, SECRET_VALUES),
  render('ingress + kubernetes executor', OVERRIDE, true, {
    ...SECRET_VALUES,
    // OVERRIDE sets GITHUB_OAUTH_CLIENT_ID: the app then needs the secret half too.
    GITHUB_OAUTH_CLIENT_SECRET: 'oauth-secret',
  }),
];

const find = (r: Rendered, kind: string, name: string): Obj => {
  const found = r.objects.filter((o) => o.kind === kind && o.metadata?.name === name);
  if (found.length !== 1)
    throw new Error(`${r.name}: expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
};
const kinds = (r: Rendered) => r.objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort();

/** Pod templates of every workload, with a label. */
const podSpecs = (r: Rendered): { label: string; spec: Obj; labels: Obj }[] =>
  r.objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
    .map((o) => ({
      label: `${r.name}: ${o.kind}/${o.metadata.name}`,
      spec: o.spec.template.spec,
      labels: o.spec.template.metadata.labels,
    }));
const containersOf = (spec: Obj): Container[] => [
  ...((spec.initContainers as Container[] | undefined) ?? []),
  ...(spec.containers as Container[]),
];
const matches = (selector: Obj, labels: Obj) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe.each(renders)('helm chart rendered with $name', (r) => {
  it('renders only kinds with a validator, each valid against its Kubernetes schema', () => {
    expect(r.objects.length).toBeGreaterThan(0);
    for (const object of r.objects) validateManifest(object, `${r.name}: ${object.metadata?.name}`);
  });

  it('renders the expected objects', () => {
    const always = [
      'Deployment/mc-api',
      'Deployment/mc-worker',
      'Job/mc-migrate',
      'PodDisruptionBudget/mc-api',
      'Service/mc-api',
      'ServiceAccount/mc-worker',
    ];
    const kubernetesOnly = [
      'Namespace/runs-ns',
      'NetworkPolicy/mc-runs',
      'Role/mc-worker',
      'RoleBinding/mc-worker',
      'Secret/mc-worker-token',
    ];
    const expected = r.kubernetes ? [...always, ...kubernetesOnly, 'Ingress/mc'] : always;
    expect(kinds(r)).toEqual(expected.sort());
    // Nothing cluster-wide beyond the runs Namespace.
    expect(r.objects.filter((o) => /^Cluster/.test(o.kind))).toEqual([]);
  });

  it('names objects in the release namespace, except the run-side ones', () => {
    for (const o of r.objects) {
      const runSide = ['Role', 'RoleBinding', 'NetworkPolicy'].includes(o.kind);
      if (runSide) expect(o.metadata.namespace).toBe(RUNS_NAMESPACE);
      else expect(o.metadata.namespace).toBeUndefined(); // helm install -n <namespace>
      expect(o.metadata.labels['app.kubernetes.io/instance']).toBe(RELEASE);
    }
  });

  it('runs every pod as non-root with a read-only root filesystem and no privilege escalation', () => {
    for (const { label, spec } of podSpecs(r)) {
      expect([label, spec.securityContext.runAsNonRoot]).toEqual([label, true]);
      // Numeric: the image's USER is a name the kubelet cannot check against runAsNonRoot.
      expect(spec.securityContext.runAsUser).toBeGreaterThan(0);
      expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect([label, spec.automountServiceAccountToken]).toEqual([label, false]);
      for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) expect(spec[key]).toBeUndefined();
      for (const volume of spec.volumes ?? []) expect(volume.hostPath).toBeUndefined();
      for (const c of containersOf(spec)) {
        const sc = c.securityContext ?? {};
        expect([label, c.name, sc]).toEqual([
          label,
          c.name,
          expect.objectContaining({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          }),
        ]);
        expect(sc.privileged).not.toBe(true);
        expect(sc.runAsUser).not.toBe(0);
        // Read-only root: /tmp is the writable scratch space.
        expect(c.volumeMounts).toEqual(
          expect.arrayContaining([{ name: 'tmp', mountPath: '/tmp' }]),
        );
        expect(c.resources?.requests?.cpu).toBeDefined();
        expect(c.resources?.requests?.memory).toBeDefined();
        expect(c.resources?.limits?.memory).toBeDefined();
        expect(c.image).not.toMatch(/:latest$|^[^:]+$/);
      }
    }
  });

  it('runs the three commands of the one image', () => {
    const command = (kind: string, name: string) =>
      (find(r, kind, name).spec.template.spec.containers as Container[]).map((c) => c.command);
    expect(command('Deployment', 'mc-api')).toEqual([['node', 'dist/src/main.js']]);
    expect(command('Deployment', 'mc-worker')).toEqual([['node', 'dist/worker/main.js']]);
    expect(command('Job', 'mc-migrate')).toEqual([['node', 'dist/scripts/db.js', 'migrate']]);
    // The sources those dist files come from.
    for (const source of ['src/main.ts', 'worker/main.ts', 'scripts/db.ts']) {
      expect(existsSync(path.join(ROOT, source))).toBe(true);
    }
    const images = new Set(
      podSpecs(r).flatMap(({ spec }) => containersOf(spec).map((c) => c.image)),
    );
    expect(images.size).toBe(1);
  });

  it('probes the API: readiness on /readyz, liveness on /healthz, on the port it listens on', () => {
    const api = find(r, 'Deployment', 'mc-api').spec.template.spec.containers[0] as Container;
    expect(api.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(api.livenessProbe?.httpGet?.path).toBe('/healthz');
    const env = containerEnv(api, r.secret);
    for (const probe of [api.readinessProbe, api.livenessProbe]) {
      const port = probe?.httpGet?.port;
      const resolved =
        typeof port === 'number' ? port : api.ports?.find((p) => p.name === port)?.containerPort;
      expect(resolved).toBe(Number(env.PORT));
    }
    expect(env.HOST).toBe('0.0.0.0');
  });

  it('lets Prometheus scrape the API and the worker, each on the port its metrics listen on', () => {
    for (const [name, variable] of [
      ['mc-api', 'PORT'],
      ['mc-worker', 'WORKER_METRICS_PORT'],
    ] as const) {
      const pod = find(r, 'Deployment', name).spec.template;
      const container = pod.spec.containers[0] as Container;
      const env = containerEnv(container, r.secret);
      const annotations = pod.metadata.annotations as Record<string, string>;
      expect([
        name,
        annotations['prometheus.io/scrape'],
        annotations['prometheus.io/path'],
      ]).toEqual([name, 'true', '/metrics']);
      const port = Number(annotations['prometheus.io/port']);
      expect([name, port]).toEqual([name, Number(env[variable])]);
      expect(container.ports?.some((p) => p.containerPort === port)).toBe(true);
    }
  });

  it('routes the Service (and the Ingress) to the API pods only', () => {
    const service = find(r, 'Service', 'mc-api');
    const apiPods = find(r, 'Deployment', 'mc-api').spec.template;
    const workerPods = find(r, 'Deployment', 'mc-worker').spec.template;
    expect(matches(service.spec.selector, apiPods.metadata.labels)).toBe(true);
    expect(matches(service.spec.selector, workerPods.metadata.labels)).toBe(false);
    const targetPort = service.spec.ports[0].targetPort;
    expect(apiPods.spec.containers[0].ports.map((p: Obj) => p.name)).toContain(targetPort);
    for (const d of r.objects.filter((o) => o.kind === 'Deployment')) {
      expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
    }
    const ingress = r.objects.find((o) => o.kind === 'Ingress');
    if (!r.kubernetes) return expect(ingress).toBeUndefined();
    const backend = ingress!.spec.rules[0].http.paths[0].backend.service;
    expect(backend.name).toBe(service.metadata.name);
    expect(service.spec.ports.map((p: Obj) => p.name)).toContain(backend.port.name);
    expect(ingress!.spec.rules[0].host).toBe('meltano.example.com');
    expect(ingress!.spec.tls).toEqual([
      { hosts: ['meltano.example.com'], secretName: 'meltano-tls' },
    ]);
  });

  it('trusts X-Forwarded-For only from its ingress, and only when it has one', () => {
    const api = find(r, 'Deployment', 'mc-api').spec.template.spec.containers[0] as Container;
    const env = containerEnv(api, r.secret);
    const config = loadConfig(env);
    if (!r.objects.some((o) => o.kind === 'Ingress')) {
      // No ingress: the API sees its clients directly, forwarded headers are ignored.
      expect(env.TRUST_PROXY).toBeUndefined();
      return expect(config.http.trustProxy).toBe(false);
    }
    expect(env.TRUST_PROXY).toBe('loopback,uniquelocal');
    expect(config.http.trustProxy).toEqual(['loopback', 'uniquelocal']);
  });

  it('keeps API pods available through voluntary disruptions', () => {
    const pdb = find(r, 'PodDisruptionBudget', 'mc-api');
    const api = find(r, 'Deployment', 'mc-api');
    expect(matches(pdb.spec.selector.matchLabels, api.spec.template.metadata.labels)).toBe(true);
    expect(
      matches(
        pdb.spec.selector.matchLabels,
        find(r, 'Deployment', 'mc-worker').spec.template.metadata.labels,
      ),
    ).toBe(false);
    expect(api.spec.replicas).toBeGreaterThan(pdb.spec.maxUnavailable);
  });

  it('gives the worker longer to stop than SHUTDOWN_TIMEOUT_MS, with a margin', () => {
    const worker = find(r, 'Deployment', 'mc-worker').spec.template.spec;
    const env = containerEnv(worker.containers[0], r.secret);
    const shutdownSeconds = Number(env.SHUTDOWN_TIMEOUT_MS) / 1000;
    expect(Number.isFinite(shutdownSeconds)).toBe(true);
    expect(worker.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(shutdownSeconds + 10);
  });

  it('runs migrations as a pre-install,pre-upgrade hook', () => {
    const job = find(r, 'Job', 'mc-migrate');
    const hooks = String(job.metadata.annotations['helm.sh/hook']).split(',').sort();
    expect(hooks).toEqual(['pre-install', 'pre-upgrade']);
    expect(job.metadata.annotations['helm.sh/hook-delete-policy']).toContain(
      'before-hook-creation',
    );
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(0);
  });

  it('sets only documented variables, no secret as a plain value, and a configuration the app accepts', () => {
    for (const { label, spec } of podSpecs(r)) {
      for (const c of containersOf(spec)) {
        const names = (c.env ?? []).map((e) => e.name);
        expect([label, names.filter((n, i) => names.indexOf(n) !== i)]).toEqual([label, []]);
        expect([label, names.filter((n) => !documented.has(n))]).toEqual([label, []]);
        for (const e of c.env ?? []) {
          if (SECRET_ENV.test(e.name))
            expect([label, e.name, e.value]).toEqual([label, e.name, undefined]);
        }
        expect(c.envFrom).toEqual([{ secretRef: { name: 'meltano-cloud' } }]);
        const env = containerEnv(c, r.secret);
        const config = loadConfig(env);
        expect(config.isProduction).toBe(true);
        expect(config.worker.executor).toBe(r.kubernetes ? 'kubernetes' : 'local');
        if (r.kubernetes) expect(config.kubernetes?.namespace).toBe(RUNS_NAMESPACE);
        // The plugin cache volume is named only when the operator gives one.
        expect(config.kubernetes?.pluginCacheClaim).toBe(
          r.kubernetes ? 'meltano-plugins' : undefined,
        );
        if (r.kubernetes) expect(config.http.publicUrl).toBe('https://meltano.example.com');
      }
    }
  });

  it('gives the worker, and only the worker, access to the runs namespace', () => {
    const worker = find(r, 'Deployment', 'mc-worker').spec.template.spec;
    expect(worker.serviceAccountName).toBe('mc-worker');
    for (const { label, spec } of podSpecs(r).filter((p) => !p.label.endsWith('mc-worker'))) {
      expect([label, spec.serviceAccountName]).toEqual([label, undefined]);
    }
    const workerEnv = containerEnv(worker.containers[0], r.secret);
    if (!r.kubernetes) {
      expect(r.objects.filter((o) => ['Role', 'RoleBinding'].includes(o.kind))).toEqual([]);
      expect(workerEnv.K8S_TOKEN).toBeUndefined();
      return;
    }
    const role = find(r, 'Role', 'mc-worker');
    // Exactly the executor's calls (src/runs/executors/kubernetes): create/get/list/watch/delete,
    // narrowed per resource, plus `update` on secrets (replaceNamespacedSecret on a retried start).
    const granted = Object.fromEntries(
      (role.rules as Obj[]).flatMap((rule) =>
        (rule.apiGroups as string[]).flatMap((group) =>
          (rule.resources as string[]).map((res) => [`${group}/${res}`, [...rule.verbs].sort()]),
        ),
      ),
    );
    expect(granted).toEqual({
      'batch/jobs': ['create', 'delete', 'get', 'list', 'watch'],
      '/pods': ['get', 'list', 'watch'],
      '/pods/log': ['get'],
      '/secrets': ['create', 'delete', 'get', 'list', 'update'],
    });
    expect((role.rules as Obj[]).length).toBe(4);
    for (const rule of role.rules as Obj[]) {
      expect(rule.resourceNames).toBeUndefined();
      expect(rule.nonResourceURLs).toBeUndefined();
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
    }
    const binding = find(r, 'RoleBinding', 'mc-worker');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'mc-worker',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'mc-worker', namespace: NAMESPACE },
    ]);
    // The executor's credentials: the service account's token and CA.
    const token = find(r, 'Secret', 'mc-worker-token');
    expect(token.type).toBe('kubernetes.io/service-account-token');
    expect(token.metadata.annotations['kubernetes.io/service-account.name']).toBe('mc-worker');
    expect(workerEnv.K8S_TOKEN).toBe('secret:token');
    expect(workerEnv.K8S_API_URL).toBe('https://kubernetes.default.svc');
    const caVolume = (worker.volumes as Obj[]).find(
      (v) => v.secret?.secretName === 'mc-worker-token',
    );
    const caMount = (worker.containers[0] as Container).volumeMounts?.find(
      (m) => m.name === caVolume?.name,
    );
    expect(caMount?.readOnly).toBe(true);
    expect(workerEnv.K8S_CA_FILE).toBe(`${caMount?.mountPath}/ca.crt`);
    // Nobody else gets the token.
    for (const { label, spec } of podSpecs(r).filter((p) => !p.label.endsWith('mc-worker'))) {
      expect([label, JSON.stringify(spec)]).not.toEqual([
        label,
        expect.stringContaining('mc-worker-token'),
      ]);
    }
  });

  it('shuts run pods off from inbound traffic and lets them out', () => {
    const policy = r.objects.find((o) => o.kind === 'NetworkPolicy');
    if (!r.kubernetes) return expect(policy).toBeUndefined();
    // The labels the executor puts on every run pod (src/runs/executors/kubernetes/manifests.ts).
    expect(policy!.spec.podSelector).toEqual({ matchLabels: { [MANAGED_BY_LABEL]: MANAGED_BY } });
    expect([...policy!.spec.policyTypes].sort()).toEqual(['Egress', 'Ingress']);
    expect(policy!.spec.ingress ?? []).toEqual([]);
    expect(policy!.spec.egress.length).toBeGreaterThan(0);
    const cidrs = (policy!.spec.egress as Obj[]).flatMap((rule) =>
      ((rule.to ?? []) as Obj[]).filter((peer) => peer.ipBlock).map((peer) => peer.ipBlock),
    );
    expect(cidrs).toContainEqual({ cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] });
    // Other pods: only DNS and the API's pods on their HTTP port (managed Meltano state).
    const inCluster = (policy!.spec.egress as Obj[]).filter((rule) =>
      ((rule.to ?? []) as Obj[]).some((peer) => peer.podSelector || peer.namespaceSelector),
    );
    expect(inCluster).toHaveLength(2);
    for (const rule of inCluster)
      for (const peer of rule.to as Obj[]) expect(peer.podSelector?.matchLabels).toBeDefined();
    const toApi = inCluster.find(
      (rule) =>
        (rule.to as Obj[])[0]!.podSelector.matchLabels['app.kubernetes.io/component'] === 'api',
    )!;
    expect(toApi.ports).toEqual([{ protocol: 'TCP', port: 3000 }]);
    const worker = find(r, 'Deployment', 'mc-worker');
    const env = worker.spec.template.spec.containers[0].env as { name: string; value?: string }[];
    expect(env.find((e) => e.name === 'K8S_STATE_API_URL')?.value).toMatch(
      /^http:\/\/mc-api\.[a-z0-9-]+\.svc:80$/,
    );
    const ns = find(r, 'Namespace', RUNS_NAMESPACE);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});

describe('the test override values', () => {
  it('only uses keys the chart declares', () => {
    expect(unknownValueKeys(chart.defaults, OVERRIDE, FREE_FORM_VALUES)).toEqual([]);
    expect(
      unknownValueKeys(
        chart.defaults,
        { ingress: { hostname: 'x' }, env: { X: '1' } },
        FREE_FORM_VALUES,
      ),
    ).toEqual(['ingress.hostname']);
  });
});

describe('render-helm fails loudly', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  /** An empty chart (Chart.yaml, values.yaml, templates/) in a directory removed after the suite. */
  const chartDir = (values: Obj) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mc-chart-'));
    dirs.push(dir);
    mkdirSync(path.join(dir, 'templates'));
    writeFileSync(
      path.join(dir, 'Chart.yaml'),
      'apiVersion: v2\nname: t\nversion: 1.0.0\nappVersion: "1"\n',
    );
    writeFileSync(path.join(dir, 'values.yaml'), JSON.stringify(values));
    return dir;
  };

  /** A one-template chart. */
  const renderOne = (
    template: string,
    values: Obj = { on: true, off: false, n: 3, s: 'x', m: { a: 1 } },
  ) => {
    const dir = chartDir(values);
    writeFileSync(path.join(dir, 'templates', 't.yaml'), template);
    return renderChart(loadChart(dir))[0]!.documents.join('---');
  };

  it.each([
    ['an unknown function', '{{ upper .Values.s }}'],
    ['with', '{{ with .Values.m }}{{ .a }}{{ end }}'],
    ['template', '{{ template "x" . }}'],
    ['else if', '{{ if .Values.on }}a{{ else if .Values.off }}b{{ end }}'],
    ['an unclosed if', '{{ if .Values.on }}a'],
    ['an end without a block', 'a{{ end }}'],
    ['a missing value', '{{ .Values.nope }}'],
    ['a missing nested value', '{{ .Values.m.b }}'],
    ['an unknown include', '{{ include "nope" . }}'],
    ['printing a map', '{{ .Values.m }}'],
    ['a large number', '{{ 1000000 }}'],
    ['an unterminated action', '{{ .Values.s '],
    ['an action over two lines', '{{ .Values.s\n}}'],
    ['"{{-" without a space', '{{-.Values.s }}'],
    ['eq across types', '{{ if eq .Values.n "3" }}a{{ end }}'],
    ['a wrong arity', '{{ nindent 2 }}'],
    ['an unknown variable', '{{ $x }}'],
    ['dot fields inside range', '{{ range $k, $v := .Values.m }}{{ .Values.s }}{{ end }}'],
    ['required without a value', '{{ required "s2 is required" .Values.empty }}'],
  ])('on %s', (_what, template) => {
    expect(() =>
      renderOne(template, { on: true, off: false, n: 3, s: 'x', m: { a: 1 }, empty: '' }),
    ).toThrow(TemplateError);
  });

  it('refuses files it does not render (NOTES.txt, subdirectories)', () => {
    const dir = chartDir({});
    writeFileSync(path.join(dir, 'templates', 'NOTES.txt'), 'hello');
    expect(() => renderChart(loadChart(dir))).toThrow(TemplateError);
  });

  it('renders what it supports the way Helm does', () => {
    const out = renderOne(
      [
        'a:',
        '  {{- if .Values.on }}',
        '  b: {{ .Values.missingDefault | default 5 }}',
        '  {{- end }}',
        '  {{- if not .Values.on }}',
        '  c: 1',
        '  {{- else }}',
        '  c: {{ .Values.s | quote }}',
        '  {{- end }}',
        '  {{- /* a comment */}}',
        'm:',
        '  {{- toYaml .Values.m | nindent 2 }}',
        'list:',
        '{{- range $k, $v := .Values.m }}',
        '  - {{ $k }}={{ $v }}',
        '{{- end }}',
        'eq: {{ eq .Values.n 3 }}',
      ].join('\n'),
      { on: true, missingDefault: '', s: 'x"y', n: 3, m: { z: 1, a: 'two' } },
    );
    expect(out).toBe(
      [
        'a:',
        '  b: 5',
        '  c: "x\\"y"',
        'm:',
        '  a: two',
        '  z: 1',
        'list:',
        '  - a=two',
        '  - z=1',
        'eq: true',
      ].join('\n'),
    );
  });

  it('fails when the chart is given no existingSecret', () => {
    expect(() => renderChart(chart, { values: { existingSecret: '' } })).toThrow(
      /existingSecret is required/,
    );
    expect(() => renderChart(chart, { values: { ingress: { enabled: true } } })).toThrow(
      /ingress.host is required/,
    );
  });
});

// Keep the kinds table honest: every kind the chart renders has a validator (checked above),
// and the validator refuses unknown fields.
describe('manifest validation', () => {
  it('rejects unknown fields the JSON schemas would let through', () => {
    const api = structuredClone(find(renders[0]!, 'Deployment', 'mc-api'));
    api.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
    expect(() => validateManifest(api, 'typo')).toThrow(/readOnlyRootFileSystem/);
    expect(() =>
      validateManifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, 'cm'),
    ).toThrow(/no validator/);
    expect(kindKey(api)).toBe('apps/v1/Deployment');
  });
});
