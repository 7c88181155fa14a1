/**
 * `npm run cli:openapi`: writes cli/api-types.generated.ts from the OpenAPI
 * document the API builds from its code (no server or database needed).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import { renderApiTypes, type OpenApiDocument } from './render.js';

export const GENERATED_FILE = 'cli/api-types.generated.ts';

/** The generated file's exact content for `doc`, formatted as the repository formats TypeScript. */
export async function apiTypesSource(doc: OpenApiDocument, root = process.cwd()): Promise<string> {
  const file = path.join(root, GENERATED_FILE);
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(renderApiTypes(doc), { ...options, filepath: file });
}

async function main(): Promise<void> {
  const { createApiApp, buildOpenApiDocument } = await import('../../src/app.js');
  const { loadConfig } = await import('../../src/config/app-config.js');
  const config = loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent' });
  const app = await createApiApp(config);
  try {
    const doc = buildOpenApiDocument(app, config) as unknown as OpenApiDocument;
    writeFileSync(path.join(process.cwd(), GENERATED_FILE), await apiTypesSource(doc));
    process.stdout.write(`wrote ${GENERATED_FILE} (${Object.keys(doc.paths).length} paths)\n`);
  } finally {
    await app.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
