import { afterAll, beforeAll } from 'vitest';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
import { runSimulation, type RoundReport } from './simulation.js';
import type { SimulationOptions } from './simulation-options.js';

/**
 * Test kit: one embedded server for the file, started before its tests and closed after. While it
 * runs, CHORUS_ADMIN_TOKEN holds its token (runSimulation against an external server authenticates
 * with that variable); the previous value comes back afterwards. Read the server inside tests.
 */
export function useEmbeddedServer(): () => EmbeddedServer {
  let server: EmbeddedServer | undefined;
  const previousToken = process.env.CHORUS_ADMIN_TOKEN;
  beforeAll(async () => {
    server = await startEmbeddedServer();
    process.env.CHORUS_ADMIN_TOKEN = server.adminToken;
  }, 60_000);
  afterAll(async () => {
    if (previousToken === undefined) delete process.env.CHORUS_ADMIN_TOKEN;
    else process.env.CHORUS_ADMIN_TOKEN = previousToken;
    await server?.close();
  });
  return () => {
    if (!server) throw new Error('useEmbeddedServer: the server is read before it started');
    return server;
  };
}

/** Every round report of one simulation, in order. */
export async function collectReports(options: Partial<SimulationOptions>): Promise<RoundReport[]> {
  const reports: RoundReport[] = [];
  for await (const r of runSimulation(options)) reports.push(r);
  return reports;
}
