/** Worker entry for bench/secagg.ts: times one SecAgg+ participant inside a Chromium Web Worker. */
import { timeOneClient } from './secagg-client-work.js';

type Params = Parameters<typeof timeOneClient>[0];

self.onmessage = async (event: MessageEvent<Params>) => {
  try {
    self.postMessage({ ok: true, result: await timeOneClient(event.data) });
  } catch (err) {
    self.postMessage({ ok: false, error: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) });
  }
};
