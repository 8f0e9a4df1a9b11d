import type { FastifyInstance, FastifyReply } from 'fastify';
import { ChorusError } from '@chorus/core';
import type { StoredVersion } from '../storage/storage.js';
import { loadMl } from '../tasks/ml-loader.js';
import type { RouteContext } from './task-routes.js';
import { VersionCache } from './version-cache.js';

type VersionParams = { Params: { id: string; v: string } };

/** Numeric versions never change, so browsers and CDNs may keep them; `latest` must be revalidated. */
function cacheHeaders(reply: FastifyReply, latest: boolean, version: number): void {
  void reply.header('Cache-Control', latest ? 'no-cache' : 'public, max-age=31536000, immutable').header('X-Chorus-Version', String(version));
}

/** Model downloads: the binary payload clients train from, and the same weights in TensorFlow.js format. */
export function registerModelRoutes(app: FastifyInstance, { engine, storage, logger }: RouteContext): void {
  const decoded = new Map<string, Float32Array>();
  const versions = new VersionCache();

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
    cacheHeaders(reply, req.params.v === 'latest', v.version);
    engine.recordDownload(req.params.id, v.payload.byteLength);
    return reply.type('application/octet-stream').send(Buffer.from(v.payload.buffer, v.payload.byteOffset, v.payload.byteLength));
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
    cacheHeaders(reply, req.params.v === 'latest', v.version);
    engine.recordDownload(req.params.id, values.byteLength);
    return reply.type('application/octet-stream').send(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  });
}
