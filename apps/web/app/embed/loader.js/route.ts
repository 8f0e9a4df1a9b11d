import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Serves the built loader (`npm run build:embed` writes <repo>/public/embed.js). Partners load it
 * cross-origin with a plain <script> tag; next.config.ts rewrites /embed.js here.
 * CHORUS_EMBED_JS overrides where the file is read from.
 */
const file = (): string => process.env.CHORUS_EMBED_JS ?? path.resolve(process.cwd(), '../../public/embed.js');

export async function GET(): Promise<Response> {
  let body: Buffer;
  try {
    // Read at request time from the repository build, not traced into the Next output.
    body = await readFile(/*turbopackIgnore: true*/ file());
  } catch {
    return new Response('/* Chorus: embed.js is not built — run `npm run build:embed` */\n', { status: 503, headers: { 'content-type': 'text/javascript; charset=utf-8' } });
  }
  return new Response(new Uint8Array(body), {
    headers: {
      'content-type': 'text/javascript; charset=utf-8',
      // Short cache: a fixed loader would keep old consent text on partners' pages for too long.
      'cache-control': 'public, max-age=300',
      'cross-origin-resource-policy': 'cross-origin',
      'x-content-type-options': 'nosniff',
    },
  });
}
