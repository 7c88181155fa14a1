import { loadConfigOrExit } from './config/app-config.js';
import { createRootLogger } from './common/logger.js';
import { createApiApp } from './app.js';

/** Entry point of the HTTP API process. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createRootLogger(config.logLevel);
  const app = await createApiApp(config, { logger });
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.info({ url: config.http.publicUrl, port: config.http.port }, 'api listening');
}

void main();
