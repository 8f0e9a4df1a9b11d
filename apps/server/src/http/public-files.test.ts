import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { installErrorHandlers } from './http-errors.js';
import { PUBLIC_DIR, registerPublicFiles } from './public-files.js';

const empty = mkdtempSync(path.join(tmpdir(), 'chorus-public-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

async function get(dir: string, url: string) {
  const app = Fastify();
  installErrorHandlers(app);
  registerPublicFiles(app, dir);
  const res = await app.inject({ method: 'GET', url });
  await app.close();
  return res;
}

describe('files the server serves from public/', () => {
  it('serves the committed partner demo page, whose tag points at the local web app with the demo key', async () => {
    const res = await get(PUBLIC_DIR, '/partner-demo.html');

    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toBe(readFileSync(path.join(PUBLIC_DIR, 'partner-demo.html'), 'utf8'));
    expect(res.body).toContain('<script src="http://localhost:3000/embed.js" data-task="mnist-demo" data-key="pk_demo" async></script>');
  });

  it('answers 404 NOT_FOUND when the file is missing, and serves nothing else from the folder', async () => {
    const missing = await get(empty, '/partner-demo.html');
    const loader = await get(PUBLIC_DIR, '/embed.js');
    const readme = await get(PUBLIC_DIR, '/README.md');

    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'NOT_FOUND']);
    expect(missing.json().error.message).toBe('public/partner-demo.html is not there');
    expect([loader.statusCode, readme.statusCode]).toEqual([404, 404]);
  });
});
