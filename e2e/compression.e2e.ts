/**
 * Compressed updates in real Chromium against the real server: two browsers train the 2NN with the
 * `topk-q4` codec (5 % of the values at 4 bits, error feedback). Checked on the wire: every update
 * announced and sent is the top-k payload (more than 32× smaller than float32), the server takes
 * them (the model moves on), the error-feedback residual sits in each browser's IndexedDB, and the
 * page names the codec. Downloads are differential: version 0 is rebuilt from the task's seed (no
 * download at all), then each browser fetches only each version's int8 difference (its response
 * bodies measured on the wire), and the model it keeps in IndexedDB, updated in place, is the
 * server's version bit for bit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Response } from 'playwright-core';
import { decodePayload, layoutSize, maxPayloadBytes } from '@chorus/core';
import { createInitialModel } from '@chorus/ml';
import { createTask, listVersions, type E2eServer } from './support/chorus-server.js';
import { eventually, openParticipant, type ParticipantPage } from './support/browser.js';
import type { E2eWebApp } from './support/web-app.js';
import { parseFrames, watchWire, type WireLog } from './support/wire-watch.js';
import { startE2eStack, type E2eStack } from './support/stack.js';

const TASK = 'mnist-topk-e2e';

let server: E2eServer;
let web: E2eWebApp;
let browser: Browser;
let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack(TASK, { prepare: (s) => createTask(s.url, TASK, { targetClients: 2, minClients: 2, minAvailable: 2 }, {}, { codec: 'topk-q4' }) });
  ({ server, web, browser } = stack);
});

afterAll(() => stack?.stop());

/** The residual the page keeps for the task, as a value count (0 when none is stored). */
const RESIDUAL_LENGTH = `new Promise((resolve, reject) => {
  const open = indexedDB.open('chorus-participant');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const get = open.result.transaction('meta').objectStore('meta').get('residual:${TASK}');
    get.onsuccess = () => resolve(get.result instanceof Float32Array ? get.result.length : 0);
    get.onerror = () => reject(get.error);
  };
})`;

/** The models the page keeps for the task in IndexedDB: version and values. */
const STORED_MODELS = `new Promise((resolve, reject) => {
  const open = indexedDB.open('chorus-participant');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const get = open.result.transaction('models').objectStore('models').index('byTask').getAll('${TASK}');
    get.onsuccess = () => resolve(get.result.map((r) => ({ version: r.version, values: Array.from(r.values) })));
    get.onerror = () => reject(get.error);
  };
})`;

interface ModelDownload {
  readonly path: string;
  /** Bytes of the response body as it crossed the network (compressed, when it was). */
  readonly wireBytes: number;
}

/** Every model file the page (or its worker) fetched from the server, with its size on the wire. */
function watchDownloads(page: import('playwright-core').Page, serverUrl: string): ModelDownload[] {
  const seen: ModelDownload[] = [];
  page.context().on('response', (res: Response) => {
    const m = /\/api\/tasks\/[^/]+\/versions\/(\d+\/(?:weights|delta(?:\?from=\d+)?))$/.exec(res.url());
    if (!res.url().startsWith(serverUrl) || !m) return;
    // A response still streaming when the test closes the browser rejects: it was not a download the test counts.
    void res
      .finished()
      .then(async () => seen.push({ path: m[1]!, wireBytes: (await res.request().sizes()).responseBodySize }))
      .catch(() => undefined);
  });
  return seen;
}

describe('compressed updates', () => {
  it('two browsers send top-k 4-bit updates (> 32× under float32) that the server folds, keeping the residual in IndexedDB', async () => {
    // Prepare
    const wires: WireLog[] = [];
    const downloads: ModelDownload[][] = [];
    const pages: ParticipantPage[] = [];
    for (let i = 0; i < 2; i++) {
      pages.push(
        await openParticipant(browser, web.url, {
          query: 'backend=wasm',
          beforeGoto: (page) => {
            wires.push(watchWire(page, server.url));
            downloads.push(watchDownloads(page, server.url));
          },
        }),
      );
    }

    // Execute: two committed rounds
    await eventually('2 committed rounds', async () => (await listVersions(server.url, TASK)).some((v) => v.version >= 2), 240_000, 1_000);
    for (const p of pages) await eventually('2 accepted rounds on every page', async () => (await p.number('stat-rounds')) >= 2, 60_000);

    // Assert: bytes on the wire
    const initial = await createInitialModel('mnist-2nn', 1);
    const float32Bytes = maxPayloadBytes(initial.layout, 'float32');
    const largest = maxPayloadBytes(initial.layout, 'topk-q4');
    for (const wire of wires) {
      const { events } = parseFrames(wire.text);
      const begins = events.filter((e) => e.name === 'update:begin').map((e) => (e.args[0] as { byteLength: number }).byteLength);
      expect(begins.length).toBeGreaterThanOrEqual(2);
      for (const b of begins) {
        expect(b).toBeLessThanOrEqual(largest);
        expect(float32Bytes / b).toBeGreaterThan(32);
      }
      const binary = wire.binary.reduce((a, b) => a + b, 0);
      expect(binary).toBeGreaterThanOrEqual(begins.slice(0, -1).reduce((a, b) => a + b, 0));
      expect(binary).toBeLessThanOrEqual(begins.reduce((a, b) => a + b, 0));
      console.log(`topk-q4 updates on the wire: ${begins.join(', ')} bytes (float32: ${float32Bytes})`);
    }
    // Assert: the residual survives in IndexedDB, the page names the codec
    for (const p of pages) {
      expect(await p.page.evaluate(RESIDUAL_LENGTH)).toBe(layoutSize(initial.layout));
      expect(await p.page.getByTestId('stat-bytes').locator('xpath=..').textContent()).toContain('encoded as topk-q4');
      expect(p.errors).toEqual([]);
    }
    // Assert: differential downloads on the wire, and the kept model is the server's exactly
    for (const [i, seen] of downloads.entries()) {
      console.log(`page ${i} model downloads on the wire: ${seen.map((d) => `${d.path} ${d.wireBytes} B`).join(', ')}`);
      // Version 0 came from the seed: the first download is version 1's difference.
      expect(seen.map((d) => d.path)).not.toContain('0/weights');
      expect(seen[0]).toMatchObject({ path: '1/delta' });
      const deltas = seen.filter((d) => d.path.includes('/delta'));
      expect(deltas.map((d) => d.path)).toContain('1/delta');
      expect(seen.map((d) => d.path)).not.toContain('1/weights');
      for (const d of deltas) {
        expect(d.wireBytes).toBeGreaterThan(0);
        expect(d.wireBytes).toBeLessThan(0.26 * float32Bytes);
      }
      const stored = (await pages[i]!.page.evaluate(STORED_MODELS)) as { version: number; values: number[] }[];
      expect(stored).toHaveLength(1); // updated in place: one copy per task
      const res = await fetch(`${server.url}/api/tasks/${TASK}/versions/${stored[0]!.version}/weights`);
      const exact = decodePayload(new Uint8Array(await res.arrayBuffer())).values;
      expect(Float32Array.from(stored[0]!.values)).toEqual(exact);
    }
  }, 600_000);
});
