import type { FastifyInstance, FastifyReply } from 'fastify';
import { ChorusError, createSeededRandom, encodeNearDelta, roundCodecSeed } from '@chorus/core';
import type { StoredVersion } from '../storage/storage.js';
import { loadMl } from '../tasks/ml-loader.js';
import type { RouteContext } from './task-routes.js';
import { SingleFlight } from '../single-flight.js';
import { VersionCache } from './version-cache.js';
import { createVersionFiles } from './version-files.js';

type VersionParams = { Params: { id: string; v: string } };
type DeltaRequest = VersionParams & { Querystring: { from?: string } };

/** Differences from an older version kept encoded (each is ~¼ of a float32 model). */
const KEPT_NEAR_DELTAS = 32;

/** Numeric versions never change, so browsers and CDNs may keep them; `latest` must be revalidated. */
function cacheHeaders(reply: FastifyReply, latest: boolean, version: number): void {
  void reply.header('Cache-Control', latest ? 'no-cache' : 'public, max-age=31536000, immutable').header('X-Chorus-Version', String(version));
}

/** Model downloads: the binary payload clients train from, and the same weights in TensorFlow.js format. */
export function registerModelRoutes(app: FastifyInstance, { engine, storage, logger }: RouteContext): void {
  const decoded = new Map<string, Float32Array>();
  const versions = new VersionCache();
  const files = createVersionFiles();
  // A task deleted and created again under its id starts its versions over: its creation time tells them apart.
  const fileKey = (taskId: string, v: number, kind: string): string => `${taskId}@${engine.task(taskId).createdAt}/${v}/${kind}`;

  async function version(taskId: string, raw: string): Promise<StoredVersion> {
    const latest = engine.latestVersion(taskId);
    let v: number;
    if (raw === 'latest') v = latest;
    else if (/^\d+$/.test(raw)) v = Number(raw);
    else throw new ChorusError('BAD_REQUEST', `version: expected a number or "latest", got "${raw}"`);
    const stored = await versions.get(taskId, v, () => storage.getVersion(taskId, v));
    if (!stored) throw new ChorusError('NOT_FOUND', `task "${taskId}" has no version ${v} (latest is ${latest})`);
    return stored;
  }

  const nearDeltas = new Map<string, Promise<Uint8Array>>();
  const storedDeltas = new SingleFlight<Uint8Array | null>();

  /**
   * Version v's difference as stored with it, for a process that did not commit v (a mirror of a
   * task coordinated elsewhere) or committed it before a restart; kept in memory from then on.
   * Requests arriving together share one read.
   */
  function storedDelta(taskId: string, v: number): Promise<Uint8Array | null> {
    return storedDeltas.run(`${taskId}:${v}`, async () => {
      const d = await storage.getVersionDelta(taskId, v);
      if (d) engine.deps.modelDeltas?.put(taskId, v, d);
      return d;
    });
  }

  /** int8 of v − u (stochastic rounding seeded by the pair, so a recomputation is the same file). */
  function nearDelta(taskId: string, u: number, v: number, key: string): Promise<Uint8Array> {
    let pending = nearDeltas.get(key);
    if (!pending) {
      pending = (async () => {
        const base = await storage.getVersion(taskId, u);
        if (!base) throw new ChorusError('NOT_FOUND', `task "${taskId}" no longer keeps version ${u}: download the full model`);
        const target = await version(taskId, String(v));
        const layout = engine.task(taskId).layout;
        const random = createSeededRandom(roundCodecSeed(`${key}`));
        return encodeNearDelta({ layout, values: engine.deps.payload.decode(base.payload).values }, weightsOf(taskId, target), random);
      })();
      nearDeltas.set(key, pending);
      // A failure is not kept: the version may be retained again (never), or storage was briefly down.
      pending.catch(() => nearDeltas.delete(key));
      if (nearDeltas.size > KEPT_NEAR_DELTAS) nearDeltas.delete(nearDeltas.keys().next().value!);
    }
    return pending;
  }

  function weightsOf(taskId: string, v: StoredVersion): Float32Array {
    const key = `${taskId}:${v.version}`;
    let values = decoded.get(key);
    if (!values) {
      values = engine.deps.payload.decode(v.payload).values;
      decoded.set(key, values);
      // A few recent versions are enough: clients download the newest.
      if (decoded.size > 8) decoded.delete(decoded.keys().next().value!);
    }
    return values;
  }

  app.get<VersionParams>('/api/tasks/:id/versions/:v/weights', async (req, reply) => {
    const v = await version(req.params.id, req.params.v);
    const sent = await files.send(req, reply, { key: fileKey(req.params.id, v.version, 'weights'), bytes: v.payload, latest: req.params.v === 'latest', version: v.version });
    engine.recordDownload(req.params.id, sent);
    return reply;
  });

  // Version v's difference from v − 1 (a payload of the task's download codec): a client holding
  // v − 1 adds its decoding and holds v exactly. Only recent versions have one; NOT_FOUND tells the
  // client to download the full model.
  //
  // With `?from=u` (any retained version before v): int8 of v − u, computed on demand and kept for
  // the others holding u. Applying it gives v within int8's stated error, not bit for bit (the
  // client checks the invite's weightsSketch); one download instead of a chain of v − u steps.
  app.get<DeltaRequest>('/api/tasks/:id/versions/:v/delta', async (req, reply) => {
    const latest = engine.latestVersion(req.params.id);
    if (!/^\d{1,9}$/.test(req.params.v)) throw new ChorusError('BAD_REQUEST', `version: expected a version number, got "${req.params.v}"`);
    const v = Number(req.params.v);
    if (v < 1 || v > latest) throw new ChorusError('NOT_FOUND', `task "${req.params.id}" has no version ${v} with a difference (versions 1 to ${latest})`);
    const from = req.query.from;
    if (from !== undefined) {
      if (typeof from !== 'string' || !/^\d{1,9}$/.test(from)) throw new ChorusError('BAD_REQUEST', `from: expected a version number, got "${String(from)}"`);
      const u = Number(from);
      if (u >= v) throw new ChorusError('BAD_REQUEST', `from: version ${u} is not before version ${v}`);
      const key = fileKey(req.params.id, v, `delta-from-${u}`);
      const bytes = await nearDelta(req.params.id, u, v, key);
      const sent = await files.send(req, reply, { key, bytes, latest: false, version: v });
      engine.recordDownload(req.params.id, sent);
      return reply;
    }
    const delta = engine.deps.modelDeltas?.get(req.params.id, v) ?? (await storedDelta(req.params.id, v));
    if (!delta) throw new ChorusError('NOT_FOUND', `the difference of version ${v} from ${v - 1} is no longer kept: download the full model`);
    const sent = await files.send(req, reply, { key: fileKey(req.params.id, v, 'delta'), bytes: delta, latest: false, version: v });
    engine.recordDownload(req.params.id, sent);
    return reply;
  });

  app.get<VersionParams>('/api/tasks/:id/versions/:v/model.json', async (req, reply) => {
    const v = await version(req.params.id, req.params.v);
    const task = engine.task(req.params.id);
    const ml = await loadMl(logger);
    const { modelJson } = ml.toTfjsArtifacts(task.topology, task.layout, weightsOf(task.id, v));
    // For `latest`, point at the concrete version's weights so a commit between the two requests
    // cannot pair this topology with another version's file.
    const paths = req.params.v === 'latest' ? [`../${v.version}/weights.bin`] : ['weights.bin'];
    cacheHeaders(reply, req.params.v === 'latest', v.version);
    return { ...modelJson, weightsManifest: modelJson.weightsManifest.map((g) => ({ ...g, paths })) };
  });

  app.get<VersionParams>('/api/tasks/:id/versions/:v/weights.bin', async (req, reply) => {
    const v = await version(req.params.id, req.params.v);
    const values = weightsOf(req.params.id, v);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    const sent = await files.send(req, reply, { key: fileKey(req.params.id, v.version, 'weights.bin'), bytes, latest: req.params.v === 'latest', version: v.version });
    engine.recordDownload(req.params.id, sent);
    return reply;
  });
}
