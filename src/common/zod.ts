import {
  Body,
  Param,
  Query,
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  type PipeTransform,
} from '@nestjs/common';
import { ApiBody, ApiQuery, ApiResponse, DECORATORS } from '@nestjs/swagger';
import { z } from 'zod';
import { validationFailed, type FieldError } from './problem.js';

type Location = 'body' | 'query' | 'params' | 'headers';

/**
 * Query numbers whose schema declares no maximum are PostgreSQL integers: a
 * value past this (e.g. `after_seq=999999999999`) is a 400, not a database
 * error. A schema that takes larger numbers says so with `.max()`.
 */
export const MAX_QUERY_NUMBER = 2_147_483_647;

function unwrapped(schema: z.ZodType): z.ZodType {
  let inner = schema;
  for (let i = 0; i < 8; i++) {
    if (
      inner instanceof z.ZodDefault ||
      inner instanceof z.ZodOptional ||
      inner instanceof z.ZodNullable
    ) {
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodArray) {
      inner = inner.element as z.ZodType;
    } else {
      break;
    }
  }
  return inner;
}

/** Properties of a query schema that are numbers without a declared maximum. */
function uncappedNumbers(schema: z.ZodType): string[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([, field]) => {
      const inner = unwrapped(field);
      return (
        inner instanceof z.ZodNumber &&
        !(inner._zod.def.checks ?? []).some((c) => c._zod.def.check === 'less_than')
      );
    })
    .map(([name]) => name);
}

function queryNumberErrors(output: unknown, names: string[]): FieldError[] {
  if (!names.length || !output || typeof output !== 'object') return [];
  const errors: FieldError[] = [];
  for (const name of names) {
    const value = (output as Record<string, unknown>)[name];
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    if (values.some((v) => typeof v === 'number' && Math.abs(v) > MAX_QUERY_NUMBER)) {
      errors.push({ field: `query.${name}`, message: `must be at most ${MAX_QUERY_NUMBER}` });
    }
  }
  return errors;
}

/** Zod issues as field errors a client can show next to the right input. */
export function toFieldErrors(error: z.ZodError, location: Location): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        errors.push({
          field: [location, ...issue.path.map(String), key].join('.'),
          message: 'unknown field',
        });
      }
      continue;
    }
    const message =
      issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
    errors.push({ field: [location, ...issue.path.map(String)].join('.'), message });
  }
  return errors;
}

export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  private readonly uncapped: string[];

  constructor(
    private readonly schema: S,
    private readonly location: Location,
  ) {
    this.uncapped = location === 'query' ? uncappedNumbers(schema) : [];
  }

  transform(value: unknown): z.output<S> {
    // A missing JSON body arrives as undefined; validate it as an empty object so errors name fields.
    const input = this.location === 'body' && (value === undefined || value === null) ? {} : value;
    const result = this.schema.safeParse(input);
    if (!result.success) throw validationFailed(toFieldErrors(result.error, this.location));
    const errors = queryNumberErrors(result.data, this.uncapped);
    if (errors.length) throw validationFailed(errors);
    return result.data;
  }
}

export function jsonSchema(
  schema: z.ZodType,
  io: 'input' | 'output' = 'input',
): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io,
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

/** A request body validated by `schema` and documented in OpenAPI from the same schema. */
export function ZodBody(schema: z.ZodType, example?: unknown): ParameterDecorator {
  return (target, key, index) => {
    Body(new ZodValidationPipe(schema, 'body'))(target, key, index);
    if (key !== undefined) {
      const descriptor = Object.getOwnPropertyDescriptor(target, key);
      if (descriptor) {
        ApiBody({ schema: { ...jsonSchema(schema), ...(example ? { example } : {}) } })(
          target,
          key,
          descriptor,
        );
      }
    }
  };
}

/** Query parameters validated by a zod object schema; each property documented. */
export function ZodQuery<S extends z.ZodObject>(schema: S): ParameterDecorator {
  return (target, key, index) => {
    Query(new ZodValidationPipe(schema, 'query'))(target, key, index);
    if (key !== undefined) {
      const descriptor = Object.getOwnPropertyDescriptor(target, key);
      if (!descriptor) return;
      const shape = jsonSchema(schema) as {
        properties?: Record<string, Record<string, unknown>>;
        required?: string[];
      };
      for (const [name, prop] of Object.entries(shape.properties ?? {})) {
        ApiQuery({
          name,
          required: shape.required?.includes(name) ?? false,
          schema: prop,
          ...(typeof prop.description === 'string' ? { description: prop.description } : {}),
        })(target, key, descriptor);
      }
    }
  };
}

interface PathParam {
  name: string;
  schema: z.ZodType;
  description?: string | undefined;
}

/**
 * Path parameters validated one by one in order (the first invalid one is the error), their
 * values given to the argument as `pick` shapes them. Documented as explicit parameters put
 * before the method's others, so the document lists path parameters in argument order.
 */
function pathParams(params: PathParam[], pick: (values: Record<string, unknown>) => unknown) {
  const checks = params.map(({ name, schema }) => ({
    name,
    pipe: new ZodValidationPipe(z.object({ [name]: schema }), 'params'),
  }));
  const decorator: ParameterDecorator = (target, key, index) => {
    Param({
      transform: (raw: Record<string, unknown>) =>
        pick(
          Object.fromEntries(
            checks.map(({ name, pipe }) => [name, pipe.transform({ [name]: raw[name] })[name]]),
          ),
        ),
    } as PipeTransform)(target, key, index);
    if (key === undefined) return;
    const method = Object.getOwnPropertyDescriptor(target, key)?.value as object | undefined;
    if (!method) return;
    const documented =
      (Reflect.getMetadata(DECORATORS.API_PARAMETERS, method) as unknown[] | undefined) ?? [];
    const docs = params.map(({ name, schema, description }) => ({
      name,
      required: true,
      in: 'path',
      schema: jsonSchema(schema),
      ...(description ? { description } : {}),
    }));
    Reflect.defineMetadata(DECORATORS.API_PARAMETERS, [...docs, ...documented], method);
  };
  return decorator;
}

/** A path parameter validated by a zod schema (ids are uuids, names are slugs). */
export function ZodParam(
  name: string,
  schema: z.ZodType,
  description?: string,
): ParameterDecorator {
  return pathParams([{ name, schema, description }], (values) => values[name]);
}

/** Several path parameters on one argument, as an object of them (see `ZodParam`). */
export function ZodParams(shape: Record<string, z.ZodType>): ParameterDecorator {
  return pathParams(
    Object.entries(shape).map(([name, schema]) => ({ name, schema })),
    (values) => values,
  );
}

/** A header validated by zod (e.g. Idempotency-Key). */
export const ZodHeader = createParamDecorator(
  ({ name, schema }: { name: string; schema: z.ZodType }, ctx: ExecutionContext): unknown => {
    const request = ctx.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    const pipe = new ZodValidationPipe(z.object({ [name]: schema }), 'headers');
    return pipe.transform({ [name]: request.headers[name.toLowerCase()] })[name];
  },
);

/** Documents a response body from its zod schema. */
export function ZodResponse(
  status: number,
  schema: z.ZodType,
  description: string,
  example?: unknown,
): MethodDecorator {
  return applyDecorators(
    ApiResponse({
      status,
      description,
      content: {
        'application/json': {
          schema: jsonSchema(schema, 'output'),
          ...(example !== undefined ? { example } : {}),
        },
      },
    }),
  );
}

/** Cursor pagination, the same shape on every list. */
export const pageQuery = {
  page_size: z.coerce
    .number()
    .int()
    .min(1)
    .max(250)
    .default(50)
    .describe('Results per page (1-250)'),
  page_token: z.string().max(500).optional().describe('Token from the previous page'),
};

export function paginated<T extends z.ZodType>(item: T) {
  return z.object({
    results: z.array(item),
    pagination: z
      .object({ next_page_token: z.string().nullable(), page_size: z.number().int() })
      .nullable(),
  });
}

/** Largest Meltano state value stored (its JSON, UTF-8): 256 KiB. Meltano's own states are a few KiB. */
export const MAX_STATE_VALUE_BYTES = 256 * 1024;

/** A JSON object whose serialisation is at most `maxBytes` (UTF-8), so stored sizes stay bounded. */
export const jsonObjectWithin = (maxBytes: number) =>
  z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    if (bytes > maxBytes) {
      ctx.addIssue({
        code: 'custom',
        message: `is ${bytes} bytes of JSON; at most ${maxBytes} bytes (${Math.round(maxBytes / 1024)} KiB) are stored`,
      });
    }
  });
