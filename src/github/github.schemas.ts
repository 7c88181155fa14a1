import { z } from 'zod';

// -- API ----------------------------------------------------------------------

export const installationRefParam = z
  .string()
  .regex(
    /^(\d{1,18}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i,
    'must be an installation id (GitHub’s number or ours)',
  );

export const setupQuery = z.object({
  installation_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .describe('The installation GitHub created or updated'),
  setup_action: z.enum(['install', 'update', 'request']).optional(),
  state: z
    .string()
    .max(2000)
    .optional()
    .describe('The signed state from GET /orgs/{org}/github/install'),
  code: z
    .string()
    .max(200)
    .optional()
    .describe('User authorization code (the App must request user authorization on install)'),
});

export const installationOut = z.object({
  id: z.uuid(),
  installation_id: z.number().int(),
  account_login: z.string(),
  account_type: z.string(),
  suspended: z.boolean(),
  suspended_at: z.string().nullable(),
  granted_repositories: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});

// -- webhook payloads (only the fields used; GitHub sends many more) ------------

const account = z.looseObject({ login: z.string(), type: z.string().optional() });
const repositoryBrief = z.looseObject({
  id: z.number().int(),
  full_name: z.string(),
  private: z.boolean().optional(),
});
const installationRef = z.looseObject({ id: z.number().int() });

export const installationEvent = z.looseObject({
  action: z.string(),
  installation: z.looseObject({
    id: z.number().int(),
    account: account.nullable().optional(),
    repository_selection: z.string().optional(),
    suspended_at: z.string().nullable().optional(),
  }),
  repositories: z.array(repositoryBrief).optional(),
});

export const installationRepositoriesEvent = z.looseObject({
  action: z.string(),
  installation: installationRef,
  repository_selection: z.string().optional(),
  repositories_added: z.array(repositoryBrief).default([]),
  repositories_removed: z.array(repositoryBrief).default([]),
});

export const repositoryEvent = z.looseObject({
  action: z.string(),
  installation: installationRef.optional(),
  repository: z.looseObject({
    id: z.number().int(),
    full_name: z.string(),
    private: z.boolean().optional(),
    default_branch: z.string().nullable().optional(),
  }),
});

const pathList = z.array(z.string()).optional();

export const pushEvent = z.looseObject({
  ref: z.string(),
  before: z.string().optional(),
  after: z.string(),
  created: z.boolean().optional(),
  deleted: z.boolean().optional(),
  forced: z.boolean().optional(),
  installation: installationRef.optional(),
  repository: z.looseObject({ id: z.number().int(), full_name: z.string() }),
  commits: z
    .array(z.looseObject({ added: pathList, modified: pathList, removed: pathList }))
    .nullable()
    .optional(),
});

export type InstallationEvent = z.infer<typeof installationEvent>;
export type InstallationRepositoriesEvent = z.infer<typeof installationRepositoriesEvent>;
export type RepositoryEvent = z.infer<typeof repositoryEvent>;
export type PushEvent = z.infer<typeof pushEvent>;
