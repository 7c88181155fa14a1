/**
 * Dockerfile and docker-compose.yml, checked without a Docker engine (none
 * exists here, nor PyPI): the Dockerfile is parsed into stages and
 * instructions (line continuations, comments, `AS` names) and held to what
 * `docker compose up` needs to run real pipelines: a pinned Meltano from PyPI
 * in a venv of the base image's Python, reachable through MELTANO_BIN, a
 * non-root user, and the plugin cache on a volume.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/app-config.js';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const logical: { text: string; line: number }[] = [];
  let current: { text: string; line: number } | null = null;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (!current && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current && trimmed.startsWith('#')) return; // comments inside a continuation
    const continues = trimmed.endsWith('\\');
    const part = continues ? trimmed.slice(0, -1).trim() : trimmed;
    if (current) current.text += ` ${part}`;
    else current = { text: part, line: index + 1 };
    if (!continues) {
      logical.push(current);
      current = null;
    }
  });
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const { text: l, line } of logical) {
    const match = /^(\w+)\s+(.*)$/.exec(l);
    if (!match) throw new Error(`Dockerfile line ${line}: cannot parse '${l}'`);
    const instruction = { keyword: match[1]!.toUpperCase(), args: match[2]!, line };
    if (instruction.keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!from) throw new Error(`Dockerfile line ${line}: bad FROM`);
      stages.push({ from: from[1]!, name: from[2] ?? null, instructions: [] });
    } else if (stages.length === 0) args.push(instruction);
    else stages.at(-1)!.instructions.push(instruction);
  }
  return { args, stages };
}

/** `ENV A=1 B=2` (the key=value form; values without spaces). */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.keyword === 'ENV'))
    for (const pair of i.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`ENV at line ${i.line} must use KEY=value`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  return env;
}

const ROOT = process.cwd();
const BASE_ENV = { DATABASE_URL: 'postgresql://root@127.0.0.1:5432/x' };
const dockerfile = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<
    string,
    { build?: string; volumes?: string[]; environment?: Record<string, string> }
  >;
  volumes: Record<string, unknown>;
};
const final = dockerfile.stages.at(-1)!;
const meltanoStage = dockerfile.stages.find((s) =>
  s.instructions.some((i) => i.keyword === 'RUN' && /pip install .*meltano==/.test(i.args)),
);
const pinned = (() => {
  const arg = meltanoStage?.instructions.find(
    (i) => i.keyword === 'ARG' && i.args.startsWith('MELTANO_VERSION='),
  );
  return arg?.args.slice('MELTANO_VERSION='.length) ?? null;
})();

describe('Dockerfile', () => {
  it('pins base images by tag', () => {
    for (const stage of dockerfile.stages) {
      expect(stage.from).toMatch(/^[a-z0-9./-]+:[\w.-]+$/);
      expect(stage.from).not.toMatch(/:latest$/);
    }
  });

  it('installs an exactly pinned Meltano from PyPI into a venv of the base image’s Python', () => {
    expect(meltanoStage).toBeDefined();
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const runs = meltanoStage!.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    // Python from the base image (Debian packages), not a Python image or a download.
    expect(runs.some((r) => /apt-get install .*\bpython3\b.*\bpython3-venv\b/.test(r))).toBe(true);
    expect(runs.some((r) => /python3 -m venv \/opt\/meltano/.test(r))).toBe(true);
    expect(
      runs.some((r) =>
        r.includes('/opt/meltano/bin/pip install --no-cache-dir "meltano==${MELTANO_VERSION}"'),
      ),
    ).toBe(true);
    // The build proves the install works.
    expect(runs.some((r) => r.includes('/opt/meltano/bin/meltano --version'))).toBe(true);
  });

  it('copies the venv to the same path of the same base image, with Python for plugin venvs', () => {
    expect(meltanoStage!.from).toBe(final.from);
    const copy = final.instructions.find(
      (i) => i.keyword === 'COPY' && i.args.startsWith(`--from=${meltanoStage!.name} `),
    );
    expect(copy?.args).toBe(`--from=${meltanoStage!.name} /opt/meltano /opt/meltano`);
    const runs = final.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(
      runs.some((r) => /apt-get install .*\bgit\b.*\bpython3\b.*\bpython3-venv\b/.test(r)),
    ).toBe(true);
  });

  it('points MELTANO_BIN, the run folder and the plugin cache at what the image holds', () => {
    const env = envOf(final);
    expect(env.MELTANO_BIN).toBe('/opt/meltano/bin/meltano');
    expect(env.RUN_WORKDIR).toBe('/var/lib/meltano-cloud/runs');
    expect(env.PLUGIN_CACHE_DIR).toBe('/var/lib/meltano-cloud/plugins');
    // The service reads them as configured (with docker-compose.yml's NODE_ENV).
    const config = loadConfig({ ...BASE_ENV, ...env, NODE_ENV: 'development' });
    expect(config.worker.meltanoBin).toBe('/opt/meltano/bin/meltano');
    expect(config.worker.pluginCacheDir).toBe('/var/lib/meltano-cloud/plugins');
    const mkdir = final.instructions.find(
      (i) => i.keyword === 'RUN' && i.args.includes('mkdir -p /var/lib/meltano-cloud/runs'),
    );
    expect(mkdir?.args).toContain('chown -R node:node /var/lib/meltano-cloud');
  });

  it('runs as the non-root node user, set after every RUN', () => {
    const users = final.instructions.filter((i) => i.keyword === 'USER');
    expect(users.map((u) => u.args)).toEqual(['node']);
    const lastRun = Math.max(
      ...final.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.line),
    );
    expect(users[0]!.line).toBeGreaterThan(lastRun);
  });

  it('uses the same Meltano minor version as the Kubernetes executor’s default image', () => {
    const k8s = loadConfig({ ...BASE_ENV, K8S_API_URL: 'https://k8s.example' }).kubernetes;
    const k8sMinor = /:v(\d+\.\d+)/.exec(k8s?.meltanoImage ?? '')?.[1];
    expect(k8sMinor).toBeDefined();
    expect(pinned?.split('.').slice(0, 2).join('.')).toBe(k8sMinor);
  });
});

describe('docker-compose.yml', () => {
  it('builds the worker from this Dockerfile, keeps its plugin cache on a volume, and leaves MELTANO_BIN to the image', () => {
    const worker = compose.services.worker!;
    expect(worker.build).toBe('.');
    expect(worker.volumes).toContain('plugins:/var/lib/meltano-cloud/plugins');
    expect(Object.keys(compose.volumes)).toContain('plugins');
    expect(worker.environment?.MELTANO_BIN).toBeUndefined();
    expect(worker.environment?.EXECUTOR ?? 'local').toBe('local');
  });
});
