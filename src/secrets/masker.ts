/**
 * Replaces secret values in run log lines. Built once per run from the
 * values it was given; `maskLine` is one precompiled regex pass.
 *
 * Masked forms of each value: the value itself, its base64 and base64url
 * encodings, its JSON-escaped form, and, for multi-line values (a
 * service-account JSON, a PEM key), each of its lines, since logs are masked
 * line by line. Fragments shorter than 4 characters are not masked (they
 * would blank out ordinary text). The longest fragment wins where they overlap.
 */
export const MASK = '****';
export const MIN_FRAGMENT_LENGTH = 4;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

function fragmentsOf(value: string): string[] {
  const out = new Set<string>();
  const add = (s: string): void => {
    if (s.length >= MIN_FRAGMENT_LENGTH) out.add(s);
  };
  add(value);
  const bytes = Buffer.from(value, 'utf8');
  const b64 = bytes.toString('base64');
  add(b64);
  add(b64.replace(/=+$/, ''));
  add(bytes.toString('base64url'));
  add(JSON.stringify(value).slice(1, -1));
  const trimmed = value.trim();
  if (trimmed !== value) add(trimmed);
  if (/[\r\n]/.test(value)) {
    // Trimmed: the same line is masked whatever its indentation, which stays readable.
    for (const line of value.split(/\r?\n|\r/)) add(line.trim());
  }
  return [...out];
}

export class SecretMasker {
  private readonly pattern: RegExp | null;
  /** How many distinct fragments are masked. */
  readonly size: number;

  constructor(values: Iterable<string>) {
    const fragments = new Set<string>();
    for (const value of values) for (const f of fragmentsOf(value)) fragments.add(f);
    // Longest first: alternation takes the first branch that matches at a position.
    const sorted = [...fragments].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.size = sorted.length;
    this.pattern = sorted.length ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : null;
  }

  static readonly none = new SecretMasker([]);

  /** The line with every secret fragment replaced by `****`. */
  maskLine(line: string): string {
    if (!this.pattern) return line;
    return line.replace(this.pattern, MASK);
  }
}
