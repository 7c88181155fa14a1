import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../common/public.decorator.js';
import { notFound } from '../common/problem.js';
import { CONTENT_SECURITY_POLICY } from '../common/security-headers.js';

/** `web/` at the repository (or image) root: found by walking up from this file, in src/ or dist/src/. */
export function findWebRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'web', 'index.html'))) return path.join(dir, 'web');
    if (path.dirname(dir) === dir) throw new Error('web/index.html not found above ' + from);
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Asset names are plain lowercase file names (web/ is flat): nothing to escape `web/` with. */
const ASSET = /^[a-z0-9-]+\.(?:js|css|svg)$/;

/**
 * The dashboard: static files from `web/`, no build step. `/` is index.html,
 * everything else is under `/assets/`. Files are read on each request (they
 * are few and small) and revalidated by ETag, so a new deploy is picked up at
 * once without fingerprinted names.
 */
@Public()
@ApiExcludeController()
@Controller()
export class WebController {
  private readonly root = findWebRoot();

  @Get()
  index(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.send(req, reply, 'index.html');
  }

  @Get('assets/:file')
  asset(
    @Param('file') file: string,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!ASSET.test(file)) throw notFound('File');
    return this.send(req, reply, file);
  }

  private async send(req: FastifyRequest, reply: FastifyReply, file: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readFile(path.join(this.root, file));
    } catch {
      throw notFound('File');
    }
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    void reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'same-origin')
      .header('cache-control', 'no-cache')
      .header('etag', etag);
    if (req.headers['if-none-match'] === etag) {
      await reply.status(304).send();
      return;
    }
    await reply
      .type(TYPES[path.extname(file)] ?? 'application/octet-stream')
      .status(200)
      .send(body);
  }
}
