import { RouteConfig } from '@nestjs/platform-fastify';
import type { HardenedRouteConfig } from './input-guard.js';

/**
 * The route also takes `application/x-www-form-urlencoded` bodies (an HTML
 * form posts to it). Every other route answers 415 to anything but JSON.
 */
export const AcceptsFormBody = (): MethodDecorator =>
  RouteConfig({ acceptsFormBody: true } satisfies HardenedRouteConfig);
