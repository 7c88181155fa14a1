/**
 * The CLI's settings: $XDG_CONFIG_HOME/meltano-cloud/config.json (mode 0600),
 * each overridable by a MELTANO_CLOUD_* environment variable.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export interface StoredConfig {
  base_url?: string;
  token?: string;
  organization?: string;
  project?: string;
  deployment?: string;
}
export type Setting = keyof StoredConfig;

export const SETTINGS: readonly Setting[] = [
  'base_url',
  'token',
  'organization',
  'project',
  'deployment',
];
export const ENV_VARS: Record<Setting, string> = {
  base_url: 'MELTANO_CLOUD_BASE_URL',
  token: 'MELTANO_CLOUD_TOKEN',
  organization: 'MELTANO_CLOUD_ORGANIZATION',
  project: 'MELTANO_CLOUD_PROJECT',
  deployment: 'MELTANO_CLOUD_DEPLOYMENT',
};
export const DEFAULT_BASE_URL = 'http://localhost:3000';

export interface ResolvedSetting {
  value: string | undefined;
  /** Where the value came from, for messages ("MELTANO_CLOUD_PROJECT", "config file"). */
  source: 'env' | 'file' | 'default' | 'unset';
  describe: string;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(homedir(), '.config');
  return path.join(base, 'meltano-cloud');
}

export class CliConfig {
  readonly file: string;
  private stored: StoredConfig;

  /** `file`: --config-path (else MELTANO_CLOUD_CONFIG_PATH, else the XDG location). */
  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    file?: string,
  ) {
    this.file = path.resolve(
      file || env.MELTANO_CLOUD_CONFIG_PATH || path.join(configDir(env), 'config.json'),
    );
    this.stored = this.read();
  }

  private read(): StoredConfig {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return {};
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!parsed || typeof parsed !== 'object') return {};
      const out: StoredConfig = {};
      for (const key of SETTINGS) {
        const value = (parsed as Record<string, unknown>)[key];
        if (typeof value === 'string' && value) out[key] = value;
      }
      return out;
    } catch {
      throw new Error(`${this.file} is not valid JSON; fix or delete it`);
    }
  }

  get(setting: Setting): ResolvedSetting {
    const envVar = ENV_VARS[setting];
    const fromEnv = this.env[envVar];
    if (fromEnv) return { value: fromEnv, source: 'env', describe: envVar };
    const fromFile = this.stored[setting];
    if (fromFile) return { value: fromFile, source: 'file', describe: this.file };
    if (setting === 'base_url')
      return { value: DEFAULT_BASE_URL, source: 'default', describe: 'default' };
    return { value: undefined, source: 'unset', describe: 'unset' };
  }

  value(setting: Setting): string | undefined {
    return this.get(setting).value;
  }

  /** The stored value only (ignoring the environment). */
  storedValue(setting: Setting): string | undefined {
    return this.stored[setting];
  }

  /** Updates the file (keys set to undefined are removed); always written with mode 0600. */
  save(patch: Partial<Record<Setting, string | undefined>>): void {
    const next: StoredConfig = { ...this.stored };
    for (const key of SETTINGS) {
      if (!(key in patch)) continue;
      const value = patch[key];
      if (value === undefined) delete next[key];
      else next[key] = value;
    }
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
    this.stored = next;
  }
}
