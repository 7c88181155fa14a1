import { HttpException, HttpStatus } from '@nestjs/common';

/** One field at fault, as reported in a problem document. */
export interface FieldError {
  /** Where the bad value is: `body.name`, `query.page_size`, `params.id`. */
  field: string;
  message: string;
}

/** RFC 9457 problem details, with field errors for validation failures. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export const PROBLEM_BASE = 'https://meltano-cloud.dev/problems/';

/** Thrown by domain code for errors users should see, with a stable problem type. */
export class ProblemException extends HttpException {
  constructor(
    status: HttpStatus,
    readonly problemType: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail, status);
  }
}

export const notFound = (what: string): ProblemException =>
  new ProblemException(HttpStatus.NOT_FOUND, 'not-found', `${what} not found`);

export const forbidden = (detail: string): ProblemException =>
  new ProblemException(HttpStatus.FORBIDDEN, 'forbidden', detail);

export const conflict = (detail: string, errors?: FieldError[]): ProblemException =>
  new ProblemException(HttpStatus.CONFLICT, 'conflict', detail, errors);

export const validationFailed = (
  errors: FieldError[],
  detail = 'The request is not valid.',
): ProblemException =>
  new ProblemException(HttpStatus.BAD_REQUEST, 'validation-error', detail, errors);

export const unprocessable = (detail: string, errors?: FieldError[]): ProblemException =>
  new ProblemException(HttpStatus.UNPROCESSABLE_ENTITY, 'unprocessable', detail, errors);
