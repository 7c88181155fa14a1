import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'mc:public';
/** Marks a route that needs no signed-in user (health, metrics, sign-in, webhooks). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
