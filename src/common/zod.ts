import {
  Body,
  Param,
  Query,
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  type PipeTransform,
} from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import { validationFailed, type FieldError } from './problem.js';

type Location = 'body' | 'query' | 'params' | 'headers';

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
  constructor(
    private readonly schema: S,
    private readonly location: Location,
  ) {}

  transform(value: unknown): z.output<S> {
    // A missing JSON body arrives as undefined; validate it as an empty object so errors name fields.
    const input = this.location === 'body' && (value === undefined || value === null) ? {} : value;
    const result = this.schema.safeParse(input);
    if (!result.success) throw validationFailed(toFieldErrors(result.error, this.location));
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

/** A path parameter validated by a zod schema (ids are uuids, names are slugs). */
export function ZodParam(
  name: string,
  schema: z.ZodType,
  description?: string,
): ParameterDecorator {
  const wrapped = z.object({ [name]: schema });
  return (target, key, index) => {
    Param(name, {
      transform: (value: unknown) =>
        new ZodValidationPipe(wrapped, 'params').transform({ [name]: value })[name],
    } as PipeTransform)(target, key, index);
    if (key !== undefined) {
      const descriptor = Object.getOwnPropertyDescriptor(target, key);
      if (descriptor)
        ApiParam({ name, schema: jsonSchema(schema), ...(description ? { description } : {}) })(
          target,
          key,
          descriptor,
        );
    }
  };
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
