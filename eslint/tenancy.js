/**
 * Tenancy rules (issue 10): only repositories touch the database client.
 * `PrismaService`, the raw Prisma client and the transaction unwrappers may be
 * imported by `*.repository.ts` files and the database module itself;
 * anywhere else under src/ and worker/ it is a lint error. Shared by
 * eslint.config.js and test/foundation/tenancy-lint.spec.ts, which shows it firing.
 */
export const tenancyRestrictedImports = {
  patterns: [
    {
      group: ['**/database/prisma.service', '**/database/prisma.service.js'],
      message:
        'Only *.repository.ts files use PrismaService: add a repository method that takes an OrgId (or a SystemRepository method for cross-tenant work).',
    },
    {
      group: ['**/database/repository', '**/database/repository.js'],
      message: 'Only *.repository.ts files unwrap transactions.',
    },
    {
      group: ['**/generated/prisma/client', '**/generated/prisma/client.js'],
      importNames: ['PrismaClient'],
      message: 'Only the database module creates a PrismaClient.',
    },
    {
      group: ['**/database/tx', '**/database/tx.js'],
      importNames: ['txClient', 'asTx'],
      message: 'Only repositories and the database module unwrap transactions.',
    },
  ],
};

/** Flat-config entries: the rule on application code, off for repositories, the database module and tests. */
export function tenancyConfig() {
  return [
    {
      files: ['src/**/*.ts', 'worker/**/*.ts'],
      rules: { 'no-restricted-imports': ['error', tenancyRestrictedImports] },
    },
    {
      files: ['src/**/*.repository.ts', 'src/database/**'],
      rules: { 'no-restricted-imports': 'off' },
    },
  ];
}
