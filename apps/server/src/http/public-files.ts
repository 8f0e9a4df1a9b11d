import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ChorusError } from '@chorus/core';

/** The repository's public/ folder: static files Chorus serves to the world (see public/README.md). */
export const PUBLIC_DIR = path.resolve(import.meta.dirname, '../../../../public');

/**
 * What the server itself serves from public/. Only the partner demo page: served here, on the
 * server's origin (http://localhost:8080), it is a partner on another site than the web app
 * (http://localhost:3000), so `npm start` is all it takes to try the script tag by hand.
 * Not embed.js: the loader opens its training frame on the origin that served it, and that frame
 * is a web-app page, so embed.js is served by the web app (apps/web/app/embed/loader.js).
 */
const FILES: Readonly<Record<string, string>> = {
  'partner-demo.html': 'text/html; charset=utf-8',
};

/** Registers GET /<file> for each file above, read from `dir` at request time (404 when absent). */
export function registerPublicFiles(app: FastifyInstance, dir: string = PUBLIC_DIR): void {
  for (const [file, type] of Object.entries(FILES)) {
    app.get(`/${file}`, async (_req, reply) => {
      let body: Buffer;
      try {
        body = await readFile(path.join(dir, file));
      } catch {
        throw new ChorusError('NOT_FOUND', `public/${file} is not there`);
      }
      return reply.header('content-type', type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(body);
    });
  }
}
