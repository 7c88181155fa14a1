const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Path parameters name resources by id or by slug; a uuid is taken as an id. */
export const isUuid = (ref: string): boolean => UUID.test(ref);

export const byRef = (ref: string): { id: string } | { slug: string } =>
  isUuid(ref) ? { id: ref } : { slug: ref };
