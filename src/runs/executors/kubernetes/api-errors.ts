import { ApiException } from '@kubernetes/client-node';

/** Whether an API call failed with this HTTP status (404 gone, 409 exists...). */
export function isApiStatus(error: unknown, code: number): boolean {
  if (error instanceof ApiException) return (error as ApiException<unknown>).code === code;
  // Watch errors carry the status as `statusCode`.
  return (error as { statusCode?: unknown } | null)?.statusCode === code;
}

/**
 * A short description of an API error: status code and the Status message.
 * ApiException's own message embeds the whole response (headers included),
 * which has no place in logs.
 */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const { code, body } = error as ApiException<unknown>;
    return `HTTP ${code}: ${statusMessage(body) ?? 'request failed'}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

function statusMessage(body: unknown): string | null {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 300) || null;
    }
  }
  const message = (parsed as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : null;
}
