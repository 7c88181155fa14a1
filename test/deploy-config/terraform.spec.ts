/**
 * terraform/, checked structurally (no terraform binary or HCL parser here,
 * see ./hcl-check.ts): balanced brackets, only blocks at the top level,
 * every reference declared, providers pinned, no hard-coded secret, and the
 * Helm values it passes rendered through the chart and validated.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/app-config.js';
import {
  FREE_FORM_VALUES,
  containerEnv,
  documentedEnvNames,
  validateManifest,
  type Container,
  type Obj,
} from './k8s-checks.js';
import {
  blocksOf,
  lexHcl,
  literal,
  referencesIn,
  type HclBlock,
  type HclFile,
} from './hcl-check.js';
import { loadChart, renderManifests, unknownValueKeys } from './render-helm.js';

const ROOT = process.cwd();
const TF_DIR = path.join(ROOT, 'terraform');
const tfFiles = readdirSync(TF_DIR)
  .filter((f) => f.endsWith('.tf'))
  .sort();
const files: HclFile[] = tfFiles.map((f) => lexHcl(readFileSync(path.join(TF_DIR, f), 'utf8'), f));
const top = files.flatMap((hcl) => blocksOf(hcl).blocks.map((block) => ({ hcl, block })));
const documented = documentedEnvNames(path.join(ROOT, '.env.example'));

const ofType = (type: string) => top.filter(({ block }) => block.type === type);
const one = (type: string, ...labels: string[]) => {
  const found = top.filter(
    ({ block }) => block.type === type && labels.every((l, i) => block.labels[i] === l),
  );
  if (found.length !== 1)
    throw new Error(`expected one ${type} ${labels.join('.')}, found ${found.length}`);
  return found[0]!;
};
const attrs = (hcl: HclFile, block: HclBlock) => blocksOf(hcl, block.body, true).attributes;
const allCode = files.map((f) => f.code).join('\n');

describe('terraform/ structure', () => {
  it('has the expected files, each lexing with balanced brackets', () => {
    expect(tfFiles).toEqual(['main.tf', 'outputs.tf', 'variables.tf', 'versions.tf']);
    expect(files).toHaveLength(4);
  });

  it('holds only known top-level blocks, with the right number of labels', () => {
    const labelCount: Record<string, number> = {
      terraform: 0,
      provider: 1,
      variable: 1,
      output: 1,
      locals: 0,
      resource: 2,
      data: 2,
    };
    for (const { hcl, block } of top) {
      expect([hcl.file, block.type, block.labels.length]).toEqual([
        hcl.file,
        block.type,
        labelCount[block.type],
      ]);
    }
    const names = top.map(({ block }) => [block.type, ...block.labels].join('.'));
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('declares every variable it uses, and uses every variable it declares', () => {
    const declared = new Set(ofType('variable').map(({ block }) => block.labels[0]!));
    const used = referencesIn(allCode).variables;
    expect([...used].filter((v) => !declared.has(v))).toEqual([]);
    expect([...declared].filter((v) => !used.has(v))).toEqual([]);
    for (const { hcl, block } of ofType('variable')) {
      const a = attrs(hcl, block);
      expect([block.labels[0], literal(hcl, a.get('description'))]).toEqual([
        block.labels[0],
        expect.any(String),
      ]);
      expect([block.labels[0], a.has('type')]).toEqual([block.labels[0], true]);
    }
  });

  it('declares every local, resource and data source it references', () => {
    const refs = referencesIn(allCode);
    const locals = new Set(
      ofType('locals').flatMap(({ hcl, block }) => [...attrs(hcl, block).keys()]),
    );
    const resources = new Set(ofType('resource').map(({ block }) => block.labels.join('.')));
    const data = new Set(ofType('data').map(({ block }) => block.labels.join('.')));
    expect([...refs.locals].filter((l) => !locals.has(l))).toEqual([]);
    expect([...refs.resources].filter((r) => !resources.has(r))).toEqual([]);
    expect([...refs.data].filter((d) => !data.has(d))).toEqual([]);
    // And the checker does find them (it would pass vacuously otherwise).
    expect(refs.resources).toContain('aws_db_instance.this');
    expect(refs.data).toContain('aws_eks_cluster.this');
    expect(refs.locals).toContain('database_url');
  });

  it('pins terraform and every provider it uses', () => {
    const { hcl, block } = one('terraform');
    const inner = blocksOf(hcl, block.body, true);
    expect(literal(hcl, inner.attributes.get('required_version'))).toMatch(/^>= ?1\.\d+/);
    const required = inner.blocks.find((b) => b.type === 'required_providers');
    const providers = blocksOf(hcl, required!.body, true).attributes;
    const pinned = new Map<string, string>();
    for (const [name, value] of providers) {
      const source = /source\s*=\s*"§(\d+)"/.exec(value);
      const version = /version\s*=\s*"§(\d+)"/.exec(value);
      expect([name, source && hcl.strings[Number(source[1])]]).toEqual([name, `hashicorp/${name}`]);
      // An upper bound: "~> x.y" or an explicit "<".
      expect([name, version && hcl.strings[Number(version[1])]]).toEqual([
        name,
        expect.stringMatching(/~>|</),
      ]);
      pinned.set(name, hcl.strings[Number(version![1])]!);
    }
    const typePrefix = (t: string) => t.split('_')[0]!;
    const used = new Set([
      ...ofType('resource').map(({ block }) => typePrefix(block.labels[0]!)),
      ...ofType('data').map(({ block }) => typePrefix(block.labels[0]!)),
      ...ofType('provider').map(({ block }) => block.labels[0]!),
    ]);
    expect([...used].sort()).toEqual([...pinned.keys()].sort());
  });

  it('hard-codes no secret', () => {
    const secretName = /password|secret|token|private_key|master_key|auth/i;
    for (const hcl of files) {
      for (const [index, text] of hcl.strings.entries()) {
        expect([hcl.file, text]).not.toEqual([
          hcl.file,
          expect.stringMatching(/AKIA[0-9A-Z]{16}|-----BEGIN/),
        ]);
        // Credentials inside a URL must come from an interpolation.
        if (/:\/\/[^\s/:@]+:[^\s/@]+@/.test(text))
          expect([hcl.file, text, hcl.interpolated[index]]).toEqual([hcl.file, text, true]);
      }
      // Attributes named like secrets are never plain strings.
      for (const m of hcl.code.matchAll(/([A-Za-z_]\w*)\s*=\s*"§(\d+)"/g)) {
        if (!secretName.test(m[1]!) || m[1] === 'description') continue;
        expect([hcl.file, m[1], hcl.interpolated[Number(m[2])]]).toEqual([hcl.file, m[1], true]);
      }
    }
    // Variables that carry secrets are sensitive and have no default value worth anything.
    for (const { hcl, block } of ofType('variable')) {
      if (!/secret|password|token|key/i.test(block.labels[0]!)) continue;
      const a = attrs(hcl, block);
      expect([block.labels[0], a.get('sensitive')]).toEqual([block.labels[0], 'true']);
      expect([block.labels[0], a.get('default') ?? '{}']).toEqual([block.labels[0], '{}']);
    }
    // Generated secrets come from the random provider.
    const app = attrs(...pair(one('resource', 'aws_secretsmanager_secret_version', 'app')));
    expect(app.get('secret_string')).toMatch(/MASTER_KEY\s*=\s*random_bytes\.master_key\.base64/);
    expect(app.get('secret_string')).toMatch(
      /SESSION_SECRET\s*=\s*random_password\.session_secret\.result/,
    );
    const masterKey = attrs(...pair(one('resource', 'random_bytes', 'master_key')));
    expect(masterKey.get('length')).toBe('32'); // MASTER_KEY: 32 bytes, base64
  });
});

const pair = ({ hcl, block }: { hcl: HclFile; block: HclBlock }) => [hcl, block] as const;

describe('terraform/ resources', () => {
  it('creates PostgreSQL 15 and Redis 7, private and encrypted with the KMS key', () => {
    const db = pair(one('resource', 'aws_db_instance', 'this'));
    const dbAttrs = attrs(...db);
    expect(literal(db[0], dbAttrs.get('engine'))).toBe('postgres');
    expect(literal(db[0], dbAttrs.get('engine_version'))).toMatch(/^15(\.|$)/);
    expect(dbAttrs.get('storage_encrypted')).toBe('true');
    expect(dbAttrs.get('publicly_accessible')).toBe('false');
    expect(dbAttrs.get('kms_key_id')).toBe('aws_kms_key.this.arn');
    expect(dbAttrs.get('password')).toBe('random_password.db.result');

    const redis = pair(one('resource', 'aws_elasticache_replication_group', 'this'));
    const redisAttrs = attrs(...redis);
    expect(literal(redis[0], redisAttrs.get('engine'))).toBe('redis');
    expect(literal(redis[0], redisAttrs.get('engine_version'))).toMatch(/^7(\.|$)/);
    expect(redisAttrs.get('transit_encryption_enabled')).toBe('true');
    expect(redisAttrs.get('at_rest_encryption_enabled')).toBe('true');
    expect(redisAttrs.get('kms_key_id')).toBe('aws_kms_key.this.arn');
    expect(redisAttrs.get('auth_token')).toBe('random_password.redis.result');
    // BullMQ loses jobs if Redis evicts keys.
    expect(one('resource', 'aws_elasticache_parameter_group', 'this').block.body).toMatch(
      /name\s*=\s*"§\d+"[\s\S]*value\s*=\s*"§\d+"/,
    );
    const params = pair(one('resource', 'aws_elasticache_parameter_group', 'this'));
    expect(params[0].strings.filter((_, i) => params[1].body.includes(`"§${i}"`))).toEqual(
      expect.arrayContaining(['maxmemory-policy', 'noeviction']),
    );

    const secret = pair(one('resource', 'aws_secretsmanager_secret', 'app'));
    expect(attrs(...secret).get('kms_key_id')).toBe('aws_kms_key.this.arn');
    expect(attrs(...pair(one('resource', 'aws_kms_key', 'this'))).get('enable_key_rotation')).toBe(
      'true',
    );
  });

  it('builds DATABASE_URL and REDIS_URL the app accepts, and puts only documented keys in the Secret', () => {
    const locals = attrs(...pair(ofType('locals')[0]!));
    const hcl = ofType('locals')[0]!.hcl;
    const urlOf = (name: string) => {
      const m = /^"§(\d+)"/.exec(locals.get(name) ?? '');
      return m ? hcl.strings[Number(m[1])]! : '';
    };
    expect(urlOf('database_url')).toMatch(
      /^postgresql:\/\/\$\{local\.db_username\}:\$\{random_password\.db\.result\}@/,
    );
    expect(urlOf('redis_url')).toMatch(/^rediss:\/\/:\$\{random_password\.redis\.result\}@/);
    const secret = attrs(...pair(one('resource', 'kubernetes_secret', 'app')));
    const keys = [...(secret.get('data') ?? '').matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*=/gm)].map(
      (m) => m[1]!,
    );
    expect(keys.sort()).toEqual(['DATABASE_URL', 'MASTER_KEY', 'REDIS_URL', 'SESSION_SECRET']);
    expect(keys.filter((k) => !documented.has(k))).toEqual([]);
  });

  it('installs ../helm/meltano-cloud with the Secret as existingSecret', () => {
    const release = pair(one('resource', 'helm_release', 'meltano_cloud'));
    const a = attrs(...release);
    expect(literal(release[0], a.get('chart'))).toBeUndefined(); // interpolated: ${path.module}/...
    const chartPath = /^"§(\d+)"/.exec(a.get('chart') ?? '');
    const chart = release[0].strings[Number(chartPath![1])]!.replace('${path.module}', TF_DIR);
    expect(existsSync(path.join(chart, 'Chart.yaml'))).toBe(true);
    expect(path.resolve(chart)).toBe(path.join(ROOT, 'helm/meltano-cloud'));
    expect(a.get('values')).toMatch(
      /existing_secret\s*=\s*kubernetes_secret\.app\.metadata\[0\]\.name/,
    );
  });
});

describe('terraform/values.yaml.tftpl', () => {
  const release = pair(one('resource', 'helm_release', 'meltano_cloud'));
  const valuesCode = attrs(...release).get('values') ?? '';
  const call = /templatefile\("§(\d+)"[^,]*,\s*\{([\s\S]*)\}\s*\)/.exec(valuesCode);
  const templatePath = call
    ? release[0].strings[Number(call[1])]!.replace('${path.module}', TF_DIR)
    : '';
  const passed = new Set([...(call?.[2] ?? '').matchAll(/^\s*([a-z_]+)\s*=/gm)].map((m) => m[1]!));

  /** Stand-ins for what terraform passes, by name (a new name needs one here). */
  const SAMPLES: Record<string, unknown> = {
    image_repository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/meltano-cloud',
    image_tag: '2024.11.1',
    existing_secret: 'meltano-cloud-env',
    secret_checksum: 'a'.repeat(64),
    public_url: 'https://meltano.example.com',
    hostname: 'meltano.example.com',
    ingress_class_name: 'alb',
    ingress_annotations: { 'alb.ingress.kubernetes.io/scheme': 'internet-facing' },
    runs_namespace: 'meltano-runs',
    api_replicas: 2,
    worker_replicas: 3,
    extra_env: { GITHUB_OAUTH_CLIENT_ID: 'Iv1.0123456789abcdef' },
  };

  const template = readFileSync(templatePath || path.join(TF_DIR, 'values.yaml.tftpl'), 'utf8');
  const placeholders = [...template.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!);

  it('uses only ${jsonencode(name)}, with exactly the names main.tf passes', () => {
    expect(call).not.toBeNull();
    expect(path.basename(templatePath)).toBe('values.yaml.tftpl');
    expect(placeholders.filter((p) => !/^jsonencode\([a-z_]+\)$/.test(p))).toEqual([]);
    expect(template).not.toMatch(/%\{/);
    const names = new Set(placeholders.map((p) => p.slice('jsonencode('.length, -1)));
    expect([...names].sort()).toEqual([...passed].sort());
    expect([...names].filter((n) => !(n in SAMPLES))).toEqual([]);
  });

  const values = parseYaml(
    template.replace(/\$\{jsonencode\(([a-z_]+)\)\}/g, (_, name: string) =>
      JSON.stringify(SAMPLES[name]),
    ),
  ) as Record<string, unknown>;
  const chart = loadChart(path.join(ROOT, 'helm/meltano-cloud'));

  it('sets only values the chart declares', () => {
    expect(unknownValueKeys(chart.defaults, values, FREE_FORM_VALUES)).toEqual([]);
  });

  it('renders the chart into valid objects whose pods the app would accept', () => {
    const manifests = renderManifests(chart, {
      values,
      releaseName: 'meltano-cloud',
      namespace: 'meltano-cloud',
    });
    for (const { file, object } of manifests) validateManifest(object, `tftpl: ${file}`);
    const kinds = manifests.map((m) => m.object.kind as string);
    expect(kinds).toEqual(
      expect.arrayContaining(['Ingress', 'Role', 'RoleBinding', 'NetworkPolicy', 'Job']),
    );
    // The keys main.tf puts in the Secret, with stand-ins in the right format.
    const secret = {
      DATABASE_URL:
        'postgresql://meltano_cloud:pw@db.internal:5432/meltano_cloud?sslmode=no-verify',
      REDIS_URL: 'rediss://:token@redis.internal:6379',
      MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
      SESSION_SECRET: 'x'.repeat(64),
      GITHUB_OAUTH_CLIENT_SECRET: 'from extra_secret_env',
    };
    const pods: Obj[] = manifests
      .map((m) => m.object)
      .filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      const container = pod.spec.template.spec.containers[0] as Container;
      expect(container.image).toBe(
        `${String(SAMPLES.image_repository)}:${String(SAMPLES.image_tag)}`,
      );
      expect(container.envFrom).toEqual([{ secretRef: { name: SAMPLES.existing_secret } }]);
      const config = loadConfig(containerEnv(container, secret));
      expect(config.http.publicUrl).toBe(SAMPLES.public_url);
      expect(config.worker.executor).toBe('kubernetes');
      expect(config.kubernetes?.namespace).toBe(SAMPLES.runs_namespace);
    }
  });
});
