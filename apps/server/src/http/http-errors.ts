import type { FastifyInstance } from 'fastify';
import { ChorusError, type ErrorCode } from '@chorus/core';

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  INVALID_CONFIG: 400,
  SHAPE_MISMATCH: 400,
  UNKNOWN_CODEC: 400,
  NON_FINITE: 400,
  UNSUPPORTED_PROTOCOL: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TASK_NOT_RUNNING: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
};

export function httpStatus(code: ErrorCode): number {
  return STATUS[code] ?? 400;
}

/** Every HTTP error is JSON `{ error: { code, message } }` with a status that matches the code. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    let e: ChorusError;
    const fastifyStatus = (err as { statusCode?: number }).statusCode;
    if (err instanceof ChorusError) e = err;
    else if (fastifyStatus === 413) e = new ChorusError('PAYLOAD_TOO_LARGE', (err as Error).message);
    else if (fastifyStatus !== undefined && fastifyStatus >= 400 && fastifyStatus < 500) e = new ChorusError('BAD_REQUEST', (err as Error).message);
    else e = ChorusError.from(err);
    if (e.code === 'INTERNAL') request.log.error({ err }, 'request failed');
    void reply.status(httpStatus(e.code)).send({ error: { code: e.code, message: e.message } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${request.url.split('?')[0]}` } });
  });
}
