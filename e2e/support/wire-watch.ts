import type { Page, Request } from 'playwright-core';

/** Everything one page sent to the server: WebSocket frames and HTTP requests. */
export interface WireLog {
  readonly text: string[];
  readonly binary: number[];
  readonly http: { method: string; url: string; bodyBytes: number }[];
}

/** Starts recording before the page navigates, so the first frames are not missed. */
export function watchWire(page: Page, serverOrigin: string): WireLog {
  const log: WireLog = { text: [], binary: [], http: [] };
  page.on('websocket', (ws) => {
    if (!ws.url().startsWith(serverOrigin.replace(/^http/, 'ws'))) return;
    ws.on('framesent', ({ payload }) => {
      if (typeof payload === 'string') log.text.push(payload);
      else log.binary.push(payload.byteLength);
    });
  });
  // Worker requests included: page.on('request') sees them in Chromium.
  page.context().on('request', (req: Request) => {
    if (req.url().startsWith(serverOrigin)) log.http.push({ method: req.method(), url: req.url(), bodyBytes: req.postDataBuffer()?.byteLength ?? 0 });
  });
  return log;
}

export interface SentEvent {
  readonly name: string;
  readonly args: unknown[];
  /** Binary attachments that follow the packet. */
  readonly attachments: number;
}

/** Parses engine.io v4 / socket.io v5 text frames; anything else lands in `unknown`. */
export function parseFrames(text: readonly string[]): { events: SentEvent[]; control: string[]; unknown: string[] } {
  const events: SentEvent[] = [];
  const control: string[] = [];
  const unknown: string[] = [];
  for (const frame of text) {
    if (frame === '2' || frame === '3' || frame === '40' || frame === '41') {
      control.push(frame);
      continue;
    }
    const m = /^4([25])(?:(\d+)-)?(?:\/[^,]*,)?(\d+)?(\[.*\])$/s.exec(frame);
    if (!m) {
      unknown.push(frame);
      continue;
    }
    try {
      const [name, ...args] = JSON.parse(m[4]!) as [string, ...unknown[]];
      events.push({ name, args, attachments: m[2] ? Number(m[2]) : 0 });
    } catch {
      unknown.push(frame);
    }
  }
  return { events, control, unknown };
}
