import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { tenancyConfig } from '../../eslint/tenancy.js';

/** The lint rule that keeps the database client inside repositories (issue 10), shown firing. */
describe('tenancy lint rule', () => {
  const eslint = new ESLint({
    cwd: process.cwd(),
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
      ...tenancyConfig(),
    ],
  });
  const lint = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  };
  const importPrisma = "import { PrismaService } from '../database/prisma.service.js';\n";

  it('refuses PrismaService in a service, a controller and the worker', async () => {
    for (const file of [
      'src/projects/projects.service.ts',
      'src/projects/projects.controller.ts',
      'worker/handlers/run.handler.ts',
    ]) {
      const messages = await lint(file, importPrisma);
      expect(messages).toEqual([expect.stringMatching(/^no-restricted-imports: .*repository/)]);
    }
  });

  it('refuses unwrapping a transaction or creating a PrismaClient outside repositories', async () => {
    expect(
      await lint(
        'src/runs/runs.service.ts',
        "import { txClient } from '../database/tx.js';\nimport { clientOf } from '../database/repository.js';\nimport { PrismaClient } from '../generated/prisma/client.js';\n",
      ),
    ).toHaveLength(3);
  });

  it('allows it in repositories and the database module; types of rows stay importable', async () => {
    expect(await lint('src/projects/projects.repository.ts', importPrisma)).toEqual([]);
    expect(
      await lint(
        'src/database/transactions.ts',
        "import { PrismaService } from './prisma.service.js';\n",
      ),
    ).toEqual([]);
    expect(
      await lint(
        'src/projects/projects.service.ts',
        "import type { Project } from '../generated/prisma/client.js';\nimport type { Tx } from '../database/tx.js';\n",
      ),
    ).toEqual([]);
  });
});
