/**
 * Column lists for the hot reads that go straight to the driver (`PrismaService.readRows`).
 * Every field of the schema is stored in its snake_case column (`organizationId` →
 * `organization_id`), so a field list is enough to select a model's row as Prisma returns it.
 */

/** Every field of a model, checked by the compiler: a field added to the schema must be listed. */
export const fieldsOf =
  <T>() =>
  (fields: Record<keyof T & string, true>): (keyof T & string)[] =>
    Object.keys(fields) as (keyof T & string)[];

/** `alias.snake_column AS "camelField", …` for each field. */
export const selectList = (alias: string, fields: readonly string[]): string =>
  fields
    .map((f) => `${alias}.${f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} AS "${f}"`)
    .join(', ');
