import { readFile } from 'node:fs/promises';
import pg from 'pg';

/** Idle and total CPU time of every core so far (/proc/stat's first line, in clock ticks); null off Linux. */
async function cpuTimes(): Promise<{ idle: number; total: number } | null> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => null);
  const fields = stat?.split('\n', 1)[0]?.trim().split(/\s+/).slice(1).map(Number);
  if (!fields || fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return null;
  // user nice system idle iowait irq softirq steal …: idle and iowait are the time nothing ran.
  return { idle: fields[3]! + fields[4]!, total: fields.reduce((a, b) => a + b, 0) };
}

/**
 * Waits until the machine's cores were at least `idle` idle over one second (at most `maxMs`), and
 * returns how long that took and the last second's idle share (null off Linux). A phase of the
 * scale benchmark measures round closes against another phase's: what the last phase left running
 * (the database writing out a dropped schema, processes still exiting) must not land in the first
 * rounds of the next one.
 */
export async function quietMachine(o: { idle: number; maxMs: number }): Promise<{ waitedMs: number; idle: number | null }> {
  const t0 = performance.now();
  let share: number | null = null;
  for (;;) {
    const a = await cpuTimes();
    await new Promise((r) => setTimeout(r, 1000));
    const b = await cpuTimes();
    if (!a || !b || b.total <= a.total) return { waitedMs: Math.round(performance.now() - t0), idle: null };
    share = (b.idle - a.idle) / (b.total - a.total);
    if (share >= o.idle || performance.now() - t0 >= o.maxMs) return { waitedMs: Math.round(performance.now() - t0), idle: Math.round(share * 100) / 100 };
  }
}

/**
 * Asks PostgreSQL to write its dirty pages now (CHECKPOINT; needs a superuser or pg_checkpoint), so
 * that the checkpoint after a phase's writes does not fall inside the next phase's rounds. Returns
 * why it could not, or null.
 */
export async function checkpoint(db: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: db });
  try {
    await client.connect();
    await client.query('CHECKPOINT');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}
