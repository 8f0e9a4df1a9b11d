import type { FastifyInstance } from 'fastify';
import { ChorusError, ERROR_CODES, type ErrorCode } from '@chorus/core';

/** The status for a code comes from core's error policy (ERROR_CODES); no second map here. */
export function httpStatus(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/**
 * Every HTTP error is JSON `{ error: { code, message, path? } }` with the status core's policy gives
 * the code; `path` names the field that was wrong when the error is about one.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    let e: ChorusError;
    const fastifyStatus = (err as { statusCode?: number }).statusCode;
    if (err instanceof ChorusError) e = err;
    else if (fastifyStatus === 413) e = new ChorusError('PAYLOAD_TOO_LARGE', (err as Error).message);
    else if (fastifyStatus !== undefined && fastifyStatus >= 400 && fastifyStatus < 500) e = new ChorusError('BAD_REQUEST', (err as Error).message);
    else e = ChorusError.from(err);
    if (e.code === 'INTERNAL') request.log.error({ err }, 'request failed');
    void reply.status(httpStatus(e.code)).send({ error: { code: e.code, message: e.message, ...(e.path !== undefined ? { path: e.path } : {}) } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${request.url.split('?')[0]}` } });
  });
}
