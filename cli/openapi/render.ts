/**
 * Turns the API's OpenAPI document into TypeScript types for the CLI's client
 * (`cli/api-types.generated.ts`): for every path and method, its path, query
 * and header parameters, request body and success response. Only the subset of
 * JSON Schema the API's zod schemas produce is handled; anything else becomes
 * `unknown`, which the client then has to name explicitly.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  nullable?: boolean;
  $ref?: string;
  description?: string;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

interface MediaType {
  schema?: JsonSchema;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, MediaType> };
  responses?: Record<string, { content?: Record<string, MediaType> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (name: string): string => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

function schemaToType(schema: JsonSchema | undefined, doc: OpenApiDocument, depth = 0): string {
  if (!schema || depth > 30) return 'unknown';
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    return schemaToType(doc.components?.schemas?.[name], doc, depth + 1);
  }
  let type: string;
  if (schema.enum) type = schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  else if (schema.const !== undefined) type = JSON.stringify(schema.const);
  else if (schema.anyOf ?? schema.oneOf)
    type = union((schema.anyOf ?? schema.oneOf ?? []).map((s) => schemaToType(s, doc, depth + 1)));
  else if (schema.allOf)
    type = schema.allOf.map((s) => `(${schemaToType(s, doc, depth + 1)})`).join(' & ');
  else {
    const kinds = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
    if (kinds.length === 0 && schema.properties) kinds.push('object');
    type =
      kinds.length === 0 ? 'unknown' : union(kinds.map((k) => primitive(k, schema, doc, depth)));
  }
  return schema.nullable ? union([type, 'null']) : type;
}

function primitive(kind: string, schema: JsonSchema, doc: OpenApiDocument, depth: number): string {
  switch (kind) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return `Array<${schemaToType(schema.items, doc, depth + 1)}>`;
    case 'object':
      return objectType(schema, doc, depth);
    default:
      return 'unknown';
  }
}

function objectType(schema: JsonSchema, doc: OpenApiDocument, depth: number): string {
  const props = Object.entries(schema.properties ?? {});
  const extra = schema.additionalProperties;
  if (props.length === 0) {
    if (extra === false) return 'Record<string, never>';
    return `Record<string, ${typeof extra === 'object' ? schemaToType(extra, doc, depth + 1) : 'unknown'}>`;
  }
  const required = new Set(schema.required ?? []);
  const lines = props.map(
    ([name, prop]) =>
      `${key(name)}${required.has(name) ? '' : '?'}: ${schemaToType(prop, doc, depth + 1)};`,
  );
  if (extra === true || (typeof extra === 'object' && Object.keys(extra).length === 0))
    lines.push('[key: string]: unknown;');
  return `{ ${lines.join(' ')} }`;
}

function union(types: string[]): string {
  const distinct = [...new Set(types)];
  if (distinct.includes('unknown')) return 'unknown';
  return distinct.length === 0 ? 'never' : distinct.join(' | ');
}

function parametersType(params: Parameter[], where: Parameter['in'], doc: OpenApiDocument) {
  const seen = new Map<string, Parameter>();
  for (const p of params) if (p.in === where && !seen.has(p.name)) seen.set(p.name, p);
  if (seen.size === 0) return 'Record<string, never>';
  const lines = [...seen.values()].map(
    (p) =>
      `${key(p.name)}${p.required || where === 'path' ? '' : '?'}: ${schemaToType(p.schema, doc)};`,
  );
  return `{ ${lines.join(' ')} }`;
}

function bodyType(op: Operation, doc: OpenApiDocument): string {
  const media = op.requestBody?.content?.['application/json'];
  if (!op.requestBody || !media) return 'never';
  return schemaToType(media.schema, doc);
}

function responseType(op: Operation, doc: OpenApiDocument): string {
  const success = Object.entries(op.responses ?? {})
    .filter(([status]) => /^2\d\d$/.test(status))
    .sort(([a], [b]) => a.localeCompare(b));
  const types: string[] = [];
  for (const [status, response] of success) {
    const media = response.content?.['application/json'];
    if (media?.schema) types.push(schemaToType(media.schema, doc));
    else if (status === '204') types.push('void');
    else types.push('unknown');
  }
  return union(types);
}

/** The TypeScript source (unformatted) of `cli/api-types.generated.ts`. */
export function renderApiTypes(doc: OpenApiDocument): string {
  const out: string[] = [
    '// Generated by `npm run cli:openapi` from the API’s OpenAPI document (buildOpenApiDocument).',
    '// Do not edit by hand: test/cli/api-client.spec.ts fails when this file is out of date.',
    '',
    '/** Every operation of the API: parameters, request body and success response. */',
    'export interface ApiPaths {',
  ];
  for (const path of Object.keys(doc.paths).sort()) {
    const ops = doc.paths[path] ?? {};
    out.push(`${JSON.stringify(path)}: {`);
    for (const method of HTTP_METHODS) {
      const op = ops[method];
      if (!op) continue;
      const params = op.parameters ?? [];
      out.push(
        `${method}: {`,
        `path: ${parametersType(params, 'path', doc)};`,
        `query: ${parametersType(params, 'query', doc)};`,
        `headers: ${parametersType(params, 'header', doc)};`,
        `body: ${bodyType(op, doc)};`,
        `response: ${responseType(op, doc)};`,
        '};',
      );
    }
    out.push('};');
  }
  out.push('}', '');
  return out.join('\n');
}
