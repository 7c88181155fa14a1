// web: serves the dashboard (static ES modules in web/) at /.
import { Module } from '@nestjs/common';
import { WebController } from './web.controller.js';

/** Serves the dashboard (web/) at `/` and `/assets/...`. */
@Module({ controllers: [WebController] })
export class WebModule {}
