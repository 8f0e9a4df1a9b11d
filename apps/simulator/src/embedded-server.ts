import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '@chorus/server';

export interface EmbeddedServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A real Chorus server in this process, on a free port, with a throw-away SQLite file and central
 * evaluation on (so each round reports test accuracy). Closing it deletes the database.
 */
export async function startEmbeddedServer(): Promise<EmbeddedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-sim-'));
  try {
    const server = await startServer({
      port: 0,
      host: '127.0.0.1',
      db: join(dir, 'simulation.sqlite'),
      dbSync: 'NORMAL',
      demoTask: false,
      evaluate: true,
      logLevel: 'warn',
      roundRetryDelayMs: 200,
    });
    return {
      url: server.url,
      async close() {
        try {
          await server.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
