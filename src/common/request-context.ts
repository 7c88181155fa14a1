import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request (or per-job) context, so every log line can carry its request id. */
export interface RequestContext {
  requestId: string;
  jobId?: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export const currentRequestId = (): string | undefined => requestContext.getStore()?.requestId;
