/**
 * Personalization in real Chromium against the real server: a browser on a FedPer task keeps the
 * 2NN's output head in IndexedDB, shows the shared model's and its own model's accuracy on its
 * held-out digits, keeps the head across a reload, never sends it (checked on the wire), and
 * forgets it when the participant deletes their data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { encodePayload, type TensorSpec } from '@chorus/core';
import { createTask, E2E_ADMIN_TOKEN, listVersions, type E2eServer } from './support/chorus-server.js';
import { eventually, openParticipant } from './support/browser.js';
import type { E2eWebApp } from './support/web-app.js';
import { parseFrames, watchWire } from './support/wire-watch.js';
import { startE2eStack, type E2eStack } from './support/stack.js';

const TASK = 'mnist-fedper-e2e';
// The 2NN without its head (output/kernel 200×10, output/bias 10): 197,200 of 199,210 values.
const SHARED: TensorSpec[] = [
  { name: 'dense1/kernel', shape: [784, 200] },
  { name: 'dense1/bias', shape: [200] },
  { name: 'dense2/kernel', shape: [200, 200] },
  { name: 'dense2/bias', shape: [200] },
];

let server: E2eServer;
let web: E2eWebApp;
let browser: Browser;
let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack(TASK, { prepare: (s) => createTask(s.url, TASK, { targetClients: 1, minClients: 1, minAvailable: 1 }, { localEpochs: 2 }, { personalization: { method: 'fedper' } }) });
  ({ server, web, browser } = stack);
});

afterAll(() => stack?.stop());

/** The head this browser keeps in IndexedDB (the participant database's meta store). */
const READ_HEAD = `(async () => {
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open('chorus-participant');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const v = await new Promise((resolve) => {
    const req = db.transaction('meta').objectStore('meta').get('personal:${TASK}');
    req.onsuccess = () => resolve(req.result);
  });
  db.close();
  return v ? { names: v.layout.map((t) => t.name), length: v.values.length, head: Array.from(v.values.slice(0, 8)) } : null;
})()`;

async function taskAction(action: 'pause' | 'resume'): Promise<void> {
  const res = await fetch(`${server.url}/api/tasks/${TASK}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${E2E_ADMIN_TOKEN}` } });
  if (!res.ok) throw new Error(`${action} failed: HTTP ${res.status}`);
}

describe('personalized task (FedPer)', () => {
  it('keeps the head on the device across a reload, shows both accuracies, and sends only the shared layers', async () => {
    // Prepare
    let wire = undefined as unknown as ReturnType<typeof watchWire>;
    const p = await openParticipant(browser, web.url, { query: 'backend=wasm', beforeGoto: (page) => void (wire = watchWire(page, server.url)) });
    try {
      // Execute: two rounds
      await eventually('2 committed rounds', async () => (await listVersions(server.url, TASK)).some((v) => v.version >= 2), 180_000, 1_000);
      await eventually('both accuracies on the page', async () => (await p.text('personal-own-accuracy')).endsWith('%') && (await p.text('personal-shared-accuracy')).endsWith('%'), 60_000);
      const stored = (await p.page.evaluate(READ_HEAD)) as { names: string[]; length: number; head: number[] } | null;

      // Assert: the head is in IndexedDB, and the privacy card says it is never sent
      expect(stored).toMatchObject({ names: ['output/kernel', 'output/bias'], length: 2010 });
      expect(await p.text('privacy-personal')).toContain('output');
      // FedPer's first figure is the new shared layers with last round's head: named for what it is
      expect(await p.text('personal-shared-label')).toBe("Before this round's training");
      // One participant: its figures are on its page, never in the round's metrics (aggregates only)
      for (const v of await listVersions(server.url, TASK)) {
        for (const k of ['client_holdoutSharedAccuracy', 'client_holdoutPersonalAccuracy', 'client_personalGainPp', 'personalGainMedian']) expect(v.metrics?.[k], `version ${v.version} ${k}`).toBeUndefined();
      }
      const own = Number((await p.text('personal-own-accuracy')).replace('%', ''));
      expect(own).toBeGreaterThan(30); // chance is 10%

      // Execute: pause the task so nothing trains, then reload
      await taskAction('pause');
      await eventually('the page idle', async () => (await p.text('connection')) === 'connection: joined', 60_000, 200);
      const beforeReload = (await p.page.evaluate(READ_HEAD)) as { head: number[] } | null;
      await p.page.reload();
      await eventually('the reloaded page running again', async () => (await p.page.getByTestId('phase').getAttribute('data-phase')) === 'running', 60_000);
      const afterReload = (await p.page.evaluate(READ_HEAD)) as { head: number[] } | null;
      // Assert: the head is exactly as it was
      expect(afterReload!.head).toEqual(beforeReload!.head);

      // Execute: resume; the next round starts from the kept head
      const rounds = Math.max(...(await listVersions(server.url, TASK)).map((v) => v.version));
      await taskAction('resume');
      await eventually('a round trained after the reload', async () => Math.max(...(await listVersions(server.url, TASK)).map((v) => v.version)) > rounds, 120_000, 1_000);
      await eventually('accuracies after the reload', async () => (await p.text('personal-shared-accuracy')).endsWith('%'), 60_000);
      // Assert: the downloaded shared layers with the kept head score far above a fresh head's chance (10%)
      const sharedAfter = Number((await p.text('personal-shared-accuracy')).replace('%', ''));
      expect(sharedAfter).toBeGreaterThan(30);
      const moved = (await p.page.evaluate(READ_HEAD)) as { head: number[] } | null;
      expect(moved!.head).not.toEqual(beforeReload!.head);

      // Assert: every update on the wire is exactly an int8 payload of the shared layers
      const sharedBytes = encodePayload({ layout: SHARED, values: new Float32Array(197_200) }, 'int8', Math.random).byteLength;
      const { events } = parseFrames(wire.text);
      const begins = events.filter((e) => e.name === 'update:begin').map((e) => (e.args[0] as { byteLength: number }).byteLength);
      expect(begins.length).toBeGreaterThanOrEqual(3);
      expect(new Set(begins)).toEqual(new Set([sharedBytes]));
      expect(wire.binary.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(sharedBytes * begins.length);
      expect(wire.http.filter((r) => r.method !== 'GET' && r.method !== 'OPTIONS')).toEqual([]);
      expect(p.errors).toEqual([]);

      // Execute: delete my data
      p.page.once('dialog', (d) => void d.accept());
      await p.page.getByTestId('delete-data').click();
      await eventually('the consent card again', async () => (await p.page.getByTestId('consent').count()) === 1, 30_000);
      // Assert: the kept head is gone from IndexedDB
      expect(await p.page.evaluate(READ_HEAD)).toBeNull();
    } finally {
      await p.context.close();
    }
  });
});
