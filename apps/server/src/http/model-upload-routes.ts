import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ChorusError, taskConfigSchema } from '@chorus/core';
import { loadMl } from '../tasks/ml-loader.js';
import { describeZodError } from '../transport/socket-handlers.js';
import { taskSummary, type RouteContext } from './task-routes.js';

/**
 * Largest upload request, in bytes (JSON with base64 weights: ~1.33 bytes per weight byte, so about
 * 24 MiB of float32 weights, 6 M parameters). @default 32 MiB
 */
export const DEFAULT_MODEL_UPLOAD_MAX_BYTES = 32 * 1024 * 1024;

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

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function modelInputShape(modelJson: Record<string, unknown>): number[] | undefined {
  // Sequential models saved by tfjs name their input shape on the first layer.
  const topology = modelJson.modelTopology as { config?: { layers?: { config?: { batch_input_shape?: unknown } }[] } } | undefined;
  const shape = topology?.config?.layers?.[0]?.config?.batch_input_shape;
  return Array.isArray(shape) && shape.slice(1).every((d) => Number.isInteger(d)) ? (shape.slice(1) as number[]) : undefined;
}

/**
 * POST /api/admin/tasks/upload: a task from an operator's own TensorFlow.js Layers model. Operators
 * only (the guard: it is a change). The body limit is this route's own; a larger request is refused
 * with 413 before it is read.
 */
export function registerModelUploadRoutes(app: FastifyInstance, { engine, logger }: RouteContext, options: { maxBytes?: number } = {}): void {
  const maxBytes = options.maxBytes ?? DEFAULT_MODEL_UPLOAD_MAX_BYTES;
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
      if (!body.success) throw new ChorusError('INVALID_CONFIG', describeZodError(body.error, 'body'));
      const { modelJson, weights, config, start } = body.data;
      const data = { inputShape: modelInputShape(modelJson), ...(config.data as object | undefined) };
      const parsed = taskConfigSchema.safeParse({ ...config, data });
      if (!parsed.success) throw new ChorusError('INVALID_CONFIG', describeZodError(parsed.error, 'config'));
      if (parsed.data.template !== undefined) throw new ChorusError('INVALID_CONFIG', 'config.template: an uploaded model has no template; leave it out');
      if (engine.hasTask(parsed.data.id)) throw new ChorusError('INVALID_CONFIG', `config.id: task "${parsed.data.id}" already exists`);
      if (!BASE64.test(weights)) throw new ChorusError('INVALID_CONFIG', 'weights: expected the contents of weights.bin as base64');

      const ml = await loadMl(logger);
      const uploaded = await ml.validateUploadedModel(modelJson, new Uint8Array(Buffer.from(weights, 'base64')), parsed.data.data);
      const task = await engine.createTask({ config: parsed.data, ...uploaded });
      logger.info({ taskId: task.id, parameters: uploaded.weights.length }, 'task created from an uploaded model');
      if (start) await engine.start(task.id);
      return reply.status(201).send({ task: taskSummary(engine, task.id) });
    },
  );
}
