import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startServer } from '@chorus/server';

export interface EmbeddedServer {
  readonly url: string;
  /** Operator API token of this server (Bearer), for creating and starting the task. */
  readonly adminToken: string;
  close(): Promise<void>;
}

/**
 * A real Chorus server in this process, on a free port, with a throw-away SQLite file and central
 * evaluation on (so each round reports test accuracy). Closing it deletes the database. `random`
 * (seeded by the simulation) drives its client selection and download rounding.
 */
export async function startEmbeddedServer(options: { random?: () => number } = {}): Promise<EmbeddedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-sim-'));
  const adminToken = randomBytes(24).toString('base64url');
  try {
    const server = await startServer({
      adminToken,
      port: 0,
      host: '127.0.0.1',
      db: join(dir, 'simulation.sqlite'),
      dbSync: 'NORMAL',
      demoTask: false,
      evaluate: true,
      logLevel: 'warn',
      roundRetryDelayMs: 200,
      // Every simulated client connects and joins from 127.0.0.1: the per-IP limits would stop them.
      connectionsPerMinute: 1_000_000,
      joinsPerIpPerMinute: 1_000_000,
      // The per-IP upload cap is 20 × this: 100 clients in quick rounds (every client, every round)
      // went over 600 a minute and waited out the round deadline.
      uploadsPerMinute: 10_000,
    }, {
      // stdout belongs to the simulation's reports (--json lines, bench results): logs go to stderr.
      logger: pino({ level: 'warn', base: { service: 'chorus-server' } }, pino.destination(2)),
      ...(options.random ? { random: options.random } : {}),
    });
    return {
      url: server.url,
      adminToken,
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
