/**
 * The asynchronous (FedBuff) mode in real Chromium against the real server: two browsers join a task
 * with `mode: 'async'` and a buffer of 2. Neither waits for a round: each is invited again on the
 * newest version as soon as its update lands, the server applies a step after every two updates,
 * and the page says it contributes continuously, counting its accepted updates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { E2E_ADMIN_TOKEN, createTask, listVersions, type E2eServer } from './support/chorus-server.js';
import { eventually, openParticipant, type ParticipantPage } from './support/browser.js';
import type { E2eWebApp } from './support/web-app.js';
import { startE2eStack, type E2eStack } from './support/stack.js';

const TASK = 'mnist-async-e2e';

let server: E2eServer;
let web: E2eWebApp;
let browser: Browser;
let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack(TASK, {
    prepare: (s) => createTask(s.url, TASK, { targetClients: 2, minClients: 1, minAvailable: 1 }, { maxExamples: 200 }, { mode: 'async', async: { bufferSize: 2, maxStaleness: 5, concurrency: 2 } }),
  });
  ({ server, web, browser } = stack);
});

afterAll(() => stack?.stop());

describe('asynchronous aggregation in the browser', () => {
  it('two browsers contribute continuously; the server steps after every two updates', async () => {
    // Prepare
    const pages: ParticipantPage[] = [];
    for (let i = 0; i < 2; i++) pages.push(await openParticipant(browser, web.url, { query: 'backend=wasm' }));

    // Execute: three buffer flushes
    await eventually('3 committed versions', async () => (await listVersions(server.url, TASK)).some((v) => v.version >= 3), 240_000, 1_000);
    for (const p of pages) await eventually('2 accepted updates on every page', async () => (await p.number('stat-rounds')) >= 2, 120_000);

    // Assert: the page names the mode, and nothing failed
    for (const p of pages) {
      const stat = await p.page.getByTestId('stat-rounds').locator('xpath=..').textContent();
      expect(stat).toContain('Contributing continuously');
      expect(p.errors).toEqual([]);
    }
    // Assert: versions advance one buffer at a time, a buffer being two updates
    const res = await fetch(`${server.url}/api/tasks/${TASK}`, { headers: { authorization: `Bearer ${E2E_ADMIN_TOKEN}` } });
    const body = (await res.json()) as { task: { config: { mode: string } }; rounds: { state: string; participants: number }[] };
    expect(body.task.config.mode).toBe('async');
    const committed = body.rounds.filter((r) => r.state === 'committed');
    expect(committed.length).toBeGreaterThanOrEqual(3);
    expect(committed.filter((r) => r.participants === 2).length).toBeGreaterThanOrEqual(2);
  }, 400_000);
});
