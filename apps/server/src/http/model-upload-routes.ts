import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ChorusError, zodChorusError } from '@chorus/core';
import { checkUploadedModelJson } from '@chorus/ml/upload-check';
import { createModelBuilder, type ModelBuilder, type ModelBuildLimits } from '../tasks/model-build-worker.js';
import { taskSummary, type RouteContext } from './task-routes.js';

/**
 * Largest upload request, in bytes (JSON with base64 weights: ~1.33 bytes per weight byte, so about
 * 24 MiB of float32 weights, 6 M parameters). @default 32 MiB
 */
export const DEFAULT_MODEL_UPLOAD_MAX_BYTES = 32 * 1024 * 1024;

/** Most parameters an uploaded model may hold (what the default body limit holds). @default 6_000_000 */
export const DEFAULT_MODEL_UPLOAD_MAX_PARAMETERS = 6_000_000;

export interface ModelUploadOptions {
  /** @default DEFAULT_MODEL_UPLOAD_MAX_BYTES */
  readonly maxBytes?: number;
  /** Checked from the topology and the manifest before the model is built. @default DEFAULT_MODEL_UPLOAD_MAX_PARAMETERS */
  readonly maxParameters?: number;
  /** Time, memory and concurrency of the build worker. @default DEFAULT_MODEL_BUILD_LIMITS */
  readonly buildLimits?: Partial<ModelBuildLimits>;
  /** Replaces the worker-backed builder (tests). @default createModelBuilder(buildLimits) */
  readonly builder?: ModelBuilder;
}

export const modelUploadRequestSchema = z.strictObject({
  /** The contents of a TensorFlow.js model.json (format "layers-model"). */
  modelJson: z.record(z.string(), z.unknown()),
  /** The contents of weights.bin, base64 (all the manifest's weight files, concatenated in order). */
  weights: z.string(),
  /** Task options (taskConfigSchema); `data.inputShape` defaults to the model's input shape. */
  config: z.record(z.string(), z.unknown()),
  /** Start the task right away. @default false */
  start: z.boolean().optional(),
});

function modelInputShape(modelJson: Record<string, unknown>): number[] | undefined {
  // Models saved by tfjs name their input shape on the first layer (a functional model's InputLayer);
  // converted Keras files nest the model under model_config.
  type Topology = { config?: { layers?: { config?: { batch_input_shape?: unknown } }[] } };
  const saved = modelJson.modelTopology as (Topology & { model_config?: Topology }) | undefined;
  const topology = saved?.model_config ?? saved;
  const shape = topology?.config?.layers?.[0]?.config?.batch_input_shape;
  return Array.isArray(shape) && shape.slice(1).every((d) => Number.isInteger(d)) ? (shape.slice(1) as number[]) : undefined;
}

const NOT_BASE64 = 'weights: expected the contents of weights.bin as base64';

/** Bytes that base64 text decodes to, without decoding it (the build worker checks that it is base64). */
function base64ByteLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

/**
 * POST /api/admin/tasks/upload: a task from an operator's own TensorFlow.js Layers model. Operators
 * only (the guard: it is a change). The body limit is this route's own; a larger request is refused
 * with 413 before it is read. The model is checked as data first (topology graph, size) on the event
 * loop, cheaply and with bounds; only then is it built, in a worker thread with a timeout.
 */
export function registerModelUploadRoutes(app: FastifyInstance, { engine, tasks, logger }: RouteContext, options: ModelUploadOptions = {}): void {
  const maxBytes = options.maxBytes ?? DEFAULT_MODEL_UPLOAD_MAX_BYTES;
  const maxParameters = options.maxParameters ?? DEFAULT_MODEL_UPLOAD_MAX_PARAMETERS;
  const builder = options.builder ?? createModelBuilder(options.buildLimits);
  // Before fastify waits for requests in flight: a stopping server does not wait for a build.
  app.addHook('preClose', async () => builder.close());
  const tooLarge = (size: string) =>
    new ChorusError('PAYLOAD_TOO_LARGE', `model upload: the request is ${size} bytes; the limit is ${maxBytes} bytes (${(maxBytes / 1048576).toFixed(0)} MiB of JSON, base64 weights included)`);

  app.post(
    '/api/admin/tasks/upload',
    {
      bodyLimit: maxBytes,
      // Route hooks run after the guard's: strangers still get 401/403, never a size hint.
      onRequest: async (req) => {
        const length = Number(req.headers['content-length']);
        if (Number.isFinite(length) && length > maxBytes) throw tooLarge(String(length));
      },
      errorHandler: (err) => {
        // fastify's own limit (a chunked body without content-length) says only "too large".
        const e = (err as { statusCode?: number }).statusCode === 413 ? tooLarge(`over ${maxBytes}`) : err;
        throw e;
      },
    },
    async (req, reply) => {
      const body = modelUploadRequestSchema.safeParse(req.body);
      if (!body.success) throw zodChorusError('INVALID_CONFIG', body.error, 'body');
      const { modelJson, weights, config, start } = body.data;
      let parameters = 0;
      const task = await tasks.create({
        config: { ...config, data: { inputShape: modelInputShape(modelJson), ...(config.data as object | undefined) } },
        ...(start !== undefined ? { start } : {}),
        check(parsed) {
          if (parsed.template !== undefined) throw new ChorusError('INVALID_CONFIG', 'config.template: an uploaded model has no template; leave it out');
        },
        async build(parsed) {
          if (weights.length % 4 !== 0) throw new ChorusError('INVALID_CONFIG', NOT_BASE64);
          // On the event loop, cheap and bounded (no tfjs here): a cycle, a dangling reference or an
          // absurd layer never reaches tfjs, which would loop or allocate without end.
          checkUploadedModelJson(modelJson, base64ByteLength(weights), { maxParameters });
          const uploaded = await builder.build({ modelJson, weightsBase64: weights, data: parsed.data, limits: { maxParameters } });
          parameters = uploaded.weights.length;
          return uploaded;
        },
      });
      logger.info({ taskId: task.id, parameters }, 'task created from an uploaded model');
      return reply.status(201).send({ task: taskSummary(engine, task.id) });
    },
  );
}
