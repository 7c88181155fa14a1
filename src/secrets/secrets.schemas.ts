import { z } from 'zod';
import { pageQuery } from '../common/zod.js';

/** The scope column of project-level secrets (deployment overrides hold the deployment id). */
export const PROJECT_SCOPE = 'project';

export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_SECRET_NAME_LENGTH = 255;
/** 64 KiB, in UTF-8 bytes. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;

/**
 * Variables the service sets for every run: a secret may not replace them.
 * MELTANO_STATE_BACKEND_URI is not one: a deployment's own state backend wins
 * over the state meltano-cloud keeps (MC_STATE_* carry the managed one).
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'MELTANO_ENVIRONMENT',
  'MELTANO_PROJECT_ROOT',
  'PATH',
  'HOME',
]);
export const RESERVED_PREFIXES: readonly string[] = ['MELTANO_CLOUD_', 'GIT_', 'MC_STATE_'];

/** Reserved names are compared case-insensitively, so `Path` cannot shadow `PATH` anywhere. */
export function isReservedName(name: string): boolean {
  const upper = name.toUpperCase();
  return RESERVED_NAMES.has(upper) || RESERVED_PREFIXES.some((p) => upper.startsWith(p));
}

/** A name in a path that only looks a secret up (GET, DELETE). */
export const secretNameParam = z
  .string()
  .max(MAX_SECRET_NAME_LENGTH, `must be at most ${MAX_SECRET_NAME_LENGTH} characters`)
  .regex(
    SECRET_NAME,
    'must be an environment variable name: letters, digits and _, not starting with a digit',
  );

/** A name a secret may be set under. */
export const secretName = secretNameParam.refine(
  (name) => !isReservedName(name),
  `is reserved: meltano-cloud sets it for every run (${[...RESERVED_NAMES].join(', ')}, ${RESERVED_PREFIXES.map((p) => p + '*').join(', ')})`,
);

export const putSecretBody = z
  .strictObject({
    value: z
      .string()
      .min(1, 'must not be empty')
      .refine(
        (v) => Buffer.byteLength(v, 'utf8') <= MAX_SECRET_VALUE_BYTES,
        `must be at most ${MAX_SECRET_VALUE_BYTES} bytes (64 KiB)`,
      )
      .describe('The value; write-only, never returned'),
    kind: z
      .enum(['env', 'file'])
      .default('env')
      .describe(
        '`env`: an environment variable of the run. `file`: written to a file whose path the variable holds',
      ),
  })
  .superRefine((b, ctx) => {
    if (b.kind === 'env' && b.value.includes('\0')) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: 'an environment variable cannot contain a NUL character (use kind "file")',
      });
    }
  });

export const listSecretsQuery = z.object({ ...pageQuery });

export const secretOut = z.object({
  name: z.string(),
  kind: z.enum(['env', 'file']),
  scope: z.enum(['project', 'deployment']),
  project_id: z.uuid(),
  deployment_id: z.uuid().nullable(),
  created_by: z.string().nullable().describe('Login of who first set it'),
  updated_by: z.string().nullable().describe('Login of who set the current value'),
  created_at: z.string(),
  updated_at: z.string(),
});
export type SecretOut = z.infer<typeof secretOut>;
