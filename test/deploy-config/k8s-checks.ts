/**
 * Validation of rendered Kubernetes objects, shared by helm.spec.ts and
 * terraform.spec.ts: the kubernetes-models JSON schema of each kind, plus a
 * strict walk over @kubernetes/client-node's type metadata that rejects
 * unknown fields (the JSON schemas accept them, so a typo such as
 * `readOnlyRootFileSystem` would otherwise pass).
 */
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import {
  RoleBinding,
  type IRoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/** A parsed manifest: untyped YAML, held to its schema by validateManifest. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

interface Validatable {
  validate(): void;
}

/** apiVersion/kind -> schema class and client-node type; any other kind is an error. */
const KINDS: Record<string, { make: (o: Obj) => Validatable; type: string }> = {
  'apps/v1/Deployment': { make: (o) => new Deployment(o), type: 'V1Deployment' },
  'batch/v1/Job': { make: (o) => new Job(o), type: 'V1Job' },
  'networking.k8s.io/v1/Ingress': { make: (o) => new Ingress(o), type: 'V1Ingress' },
  'networking.k8s.io/v1/NetworkPolicy': {
    make: (o) => new NetworkPolicy(o),
    type: 'V1NetworkPolicy',
  },
  'policy/v1/PodDisruptionBudget': {
    make: (o) => new PodDisruptionBudget(o),
    type: 'V1PodDisruptionBudget',
  },
  'rbac.authorization.k8s.io/v1/Role': { make: (o) => new Role(o), type: 'V1Role' },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    // roleRef is required in the type; the schema checks it is there.
    make: (o) => new RoleBinding(o as unknown as IRoleBinding),
    type: 'V1RoleBinding',
  },
  'v1/Namespace': { make: (o) => new Namespace(o), type: 'V1Namespace' },
  'v1/Secret': { make: (o) => new Secret(o), type: 'V1Secret' },
  'v1/Service': { make: (o) => new Service(o), type: 'V1Service' },
  'v1/ServiceAccount': {
    make: (o) => new ServiceAccount(o),
    type: 'V1ServiceAccount',
  },
};

export const kindKey = (o: { apiVersion?: unknown; kind?: unknown }) =>
  `${String(o.apiVersion)}/${String(o.kind)}`;

interface AttributeType {
  baseName: string;
  type: string;
}
type ModelClass = { getAttributeTypeMap(): AttributeType[] };

const LEAF_TYPES = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString']);

/** Paths of fields that client-node's model of `type` does not know. */
export function unknownFields(value: unknown, type: string, at = ''): string[] {
  if (value === null || value === undefined || LEAF_TYPES.has(type)) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return [`${at}: expected a list`];
    return value.flatMap((item, i) => unknownFields(item, array[1]!, `${at}[${i}]`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: expected a map`];
    return Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1]!, `${at}.${k}`));
  }
  const model = (k8s as unknown as Record<string, ModelClass | undefined>)[type];
  if (!model || typeof model.getAttributeTypeMap !== 'function') {
    throw new Error(`no client-node model for type ${type}`);
  }
  if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: expected an object`];
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, v]) => {
    const t = attributes.get(key);
    return t === undefined
      ? [`${at}.${key} (unknown field of ${type})`]
      : unknownFields(v, t, `${at}.${key}`);
  });
}

/** Throws unless the object is a known kind that passes its schema and has no unknown field. */
export function validateManifest(object: Record<string, unknown>, label: string): void {
  const kind = KINDS[kindKey(object)];
  if (!kind) throw new Error(`${label}: no validator for ${kindKey(object)}`);
  try {
    kind.make(object).validate();
  } catch (error) {
    throw new Error(`${label}: ${kindKey(object)} fails its schema: ${String(error)}`, {
      cause: error,
    });
  }
  const unknown = unknownFields(object, kind.type);
  if (unknown.length > 0) throw new Error(`${label}: unknown fields ${unknown.join(', ')}`);
}

/** Variable names documented in .env.example. */
export function documentedEnvNames(envExamplePath: string): Set<string> {
  const names = new Set<string>();
  for (const line of readFileSync(envExamplePath, 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** Names the app treats as secrets: these must never be plain `value`s in a manifest. */
export const SECRET_ENV =
  /^(DATABASE_URL|REDIS_URL|SMTP_URL|MASTER_KEY|PREVIOUS_MASTER_KEYS)$|SECRET|TOKEN|PASSWORD|PRIVATE_KEY/;

export type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
};

export interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: EnvVar[];
  envFrom?: { secretRef?: { name: string }; configMapRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

/**
 * The environment a container would see: its plain values, then stand-ins for
 * values from Secrets (`secretValues` for envFrom Secrets, a placeholder for
 * single keys). Explicit `env` entries win over envFrom, as in Kubernetes.
 */
export function containerEnv(
  container: Container,
  secretValues: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.secretRef) Object.assign(env, secretValues);
  }
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) env[entry.name] = entry.value;
    else if (entry.valueFrom?.secretKeyRef)
      env[entry.name] = `secret:${entry.valueFrom.secretKeyRef.key}`;
  }
  return env;
}

/** Free-form maps of values.yaml: any key may be added below these. */
export const FREE_FORM_VALUES = [
  'env',
  'api.podAnnotations',
  'api.resources',
  'worker.resources',
  'migrations.resources',
  'ingress.annotations',
  'podSecurityContext',
  'securityContext',
];

/** What the existingSecret would hold in production (stand-ins, right formats). */
export const SECRET_VALUES: Record<string, string> = {
  DATABASE_URL: 'postgresql://mc:pw@db.internal:5432/meltano_cloud?sslmode=no-verify',
  REDIS_URL: 'rediss://:token@redis.internal:6379',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  SESSION_SECRET: 's'.repeat(48),
  PUBLIC_URL: 'https://meltano.example.com',
};
