/**
 * `npm ci` installs exactly package-lock.json and fails when it disagrees with
 * package.json; this check fails first, saying which entry is out of step.
 */
import { readFileSync } from 'node:fs';

interface LockEntry {
  version?: string;
  name?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  bin?: Record<string, string> | string;
  engines?: Record<string, string>;
  link?: boolean;
}
interface Lock {
  name: string;
  version: string;
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}
interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as Lock;
const root = lock.packages[''] ?? {};

const nums = (v: string): number[] =>
  v
    .replace(/^[v=]/, '')
    .split(/[-+]/)[0]!
    .split('.')
    .map((n) => Number(n));
const cmp = (a: number[], b: number[]): number => {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
};

/** The range forms package.json uses: exact, ^x.y.z, ~x.y.z, x.y (a prefix). */
export function satisfies(version: string, range: string): boolean {
  const v = nums(version);
  if (range.startsWith('^') || range.startsWith('~')) {
    const base = nums(range.slice(1));
    if (cmp(v, base) < 0) return false;
    if (range.startsWith('~')) return v[0] === base[0] && v[1] === base[1];
    const lead = base.findIndex((n) => n !== 0);
    const fixed = lead < 0 ? 3 : lead + 1;
    return base.slice(0, fixed).every((n, i) => v[i] === n);
  }
  const parts = range.split('.');
  if (parts.length < 3 && !range.includes('-')) return parts.every((p, i) => Number(p) === v[i]);
  return range.replace(/^[v=]/, '') === version;
}

/** Where npm would find `name` for the package at `from` (its folder, then each parent). */
function resolve(from: string, name: string): LockEntry | undefined {
  const parts = from ? from.split('/node_modules/') : [];
  for (let i = parts.length; i >= 0; i--) {
    const prefix = parts.slice(0, i).join('/node_modules/');
    const hit = lock.packages[`${prefix ? `${prefix}/` : ''}node_modules/${name}`];
    if (hit) return hit;
  }
  return undefined;
}

describe('package-lock.json agrees with package.json (what `npm ci` requires)', () => {
  it('is a lockfile v3 whose root entry is package.json', () => {
    expect(lock.lockfileVersion).toBe(3);
    expect({ name: lock.name, version: lock.version }).toEqual({
      name: manifest.name,
      version: manifest.version,
    });
    expect(root.dependencies ?? {}).toEqual(manifest.dependencies ?? {});
    expect(root.devDependencies ?? {}).toEqual(manifest.devDependencies ?? {});
    expect(root.optionalDependencies ?? {}).toEqual(manifest.optionalDependencies ?? {});
    expect(root.bin ?? {}).toEqual(manifest.bin ?? {});
    expect(root.engines ?? {}).toEqual(manifest.engines ?? {});
  });

  it('locks every declared dependency at a version its range allows', () => {
    const wrong: string[] = [];
    for (const [name, range] of Object.entries({
      ...manifest.dependencies,
      ...manifest.devDependencies,
    })) {
      const entry = lock.packages[`node_modules/${name}`];
      if (!entry?.version) wrong.push(`${name}: not in the lock`);
      else if (!satisfies(entry.version, range))
        wrong.push(`${name}: locked ${entry.version}, package.json wants ${range}`);
    }
    expect(wrong).toEqual([]);
  });

  it('holds every package’s optional dependencies (other platforms’ builds included)', () => {
    const missing: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      if (!where || entry.link) continue;
      for (const name of Object.keys(entry.optionalDependencies ?? {}))
        if (!resolve(where, name)) missing.push(`${where} → ${name}`);
    }
    expect(missing).toEqual([]);
  });

  it('the range check itself', () => {
    expect(satisfies('1.4.2', '^1.2.0')).toBe(true);
    expect(satisfies('2.0.0', '^1.2.0')).toBe(false);
    expect(satisfies('0.2.9', '^0.2.2')).toBe(true);
    expect(satisfies('0.3.0', '^0.2.2')).toBe(false);
    expect(satisfies('1.4.9', '~1.4.0')).toBe(true);
    expect(satisfies('1.5.0', '~1.4.0')).toBe(false);
    expect(satisfies('5.9.3', '5.9')).toBe(true);
    expect(satisfies('7.10.1', '7.10.0')).toBe(false);
  });
});
