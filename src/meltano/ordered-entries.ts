/**
 * Ordered name -> value data kept in PostgreSQL `jsonb`, which reorders object keys: stored as
 * `[[name, value], ...]` so job lists and schedule `env` keep the order meltano.yml wrote them
 * in. Rows written before are plain objects; both shapes read back as entries.
 */
export type OrderedEntries<T = unknown> = [string, T][];

export function entriesOf(value: unknown): OrderedEntries {
  if (Array.isArray(value)) {
    return value.filter(
      (entry): entry is [string, unknown] =>
        Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string',
    );
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value);
  }
  return [];
}

/** The entries as an object (an API shape); own properties, so `__proto__` stays a key. */
export const objectOf = (value: unknown): Record<string, unknown> =>
  Object.fromEntries(entriesOf(value));
