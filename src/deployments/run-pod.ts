/**
 * Per-deployment settings of the Kubernetes Pods that run its pipelines:
 * resource requests and limits of the Meltano container, a node selector
 * and tolerations. Validated as the API server would (quantities, label
 * keys and values, toleration rules) so a bad value is a 400 naming the
 * field, never a Job the cluster refuses. Stored as sent (`run_pod`).
 */
import { z } from 'zod';

/** resource.Quantity's grammar (k8s.io/apimachinery/pkg/api/resource). */
const QUANTITY =
  /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;
const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A quantity's value as a number (for comparing requests with limits). */
export function quantityValue(quantity: string): number {
  const match = QUANTITY.exec(quantity);
  if (!match) return Number.NaN;
  const [, number = '0', , suffix = ''] = match;
  const multiplier = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : (SUFFIX[suffix] ?? 1);
  return Number(number.replace(/^\+/, '')) * multiplier;
}

const quantity = (what: string) =>
  z
    .string()
    .max(64)
    .regex(QUANTITY, `must be a Kubernetes quantity (${what})`)
    .refine((q) => quantityValue(q) > 0, 'must be more than 0');
const cpu = quantity("e.g. '500m' or '2'");
const memory = quantity("e.g. '512Mi' or '4Gi'");
const resourceList = z.strictObject({ cpu: cpu.optional(), memory: memory.optional() });

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A qualified name (`[prefix/]name`) as label keys and toleration keys are. */
function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts.at(-1)!;
  const prefix = parts.length === 2 ? parts[0]! : null;
  if (prefix !== null && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && NAME.test(name);
}

const qualifiedName = z
  .string()
  .max(317)
  .refine(
    isQualifiedName,
    'must be a Kubernetes label key ([prefix/]name, name at most 63 characters)',
  );
const labelValue = z
  .string()
  .max(63)
  .regex(LABEL_VALUE, 'must be a Kubernetes label value (at most 63 letters, digits, - _ .)');

const toleration = z
  .strictObject({
    key: qualifiedName.optional(),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: labelValue.optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
    toleration_seconds: z
      .number()
      .int()
      .min(0)
      .max(365 * 24 * 3600)
      .optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.operator ?? 'Equal') === 'Exists' && t.value)
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: "must be empty when operator is 'Exists'",
      });
    if (!t.key && t.operator !== 'Exists')
      ctx.addIssue({
        code: 'custom',
        path: ['operator'],
        message: "must be 'Exists' when key is empty",
      });
    if (t.toleration_seconds !== undefined && t.effect !== 'NoExecute')
      ctx.addIssue({
        code: 'custom',
        path: ['toleration_seconds'],
        message: "only applies with effect 'NoExecute'",
      });
  });

export const runPodSettings = z
  .strictObject({
    resources: z
      .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
      .superRefine((r, ctx) => {
        for (const name of ['cpu', 'memory'] as const) {
          const request = r.requests?.[name];
          const limit = r.limits?.[name];
          if (request && limit && quantityValue(request) > quantityValue(limit))
            ctx.addIssue({
              code: 'custom',
              path: ['requests', name],
              message: `must be less than or equal to the ${name} limit (${limit})`,
            });
        }
      })
      .optional()
      .describe(
        'Requests and limits of the Meltano container; unset ones keep the service defaults',
      ),
    node_selector: z
      .record(qualifiedName, labelValue)
      .refine((m) => Object.keys(m).length <= 20, 'at most 20 labels')
      .optional()
      .describe('Node labels the run Pods must be scheduled on'),
    tolerations: z.array(toleration).max(20).optional().describe('Taints the run Pods tolerate'),
  })
  .describe('Kubernetes run Pods of this deployment (Kubernetes executor only)');

export type RunPodSettings = z.infer<typeof runPodSettings>;

/** The stored value as settings; anything unreadable counts as none. */
export function readRunPod(stored: unknown): RunPodSettings {
  const parsed = runPodSettings.safeParse(stored ?? {});
  return parsed.success ? parsed.data : {};
}
