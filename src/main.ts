import { AppConfig, ConfigError, loadConfig } from './config/app-config.js';
import { createRootLogger } from './common/logger.js';
import { createApiApp } from './app.js';

/** Entry point of the HTTP API process. */
async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createRootLogger(config.logLevel);
  const app = await createApiApp(config, { logger });
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.info({ url: config.http.publicUrl, port: config.http.port }, 'api listening');
}

void main();
