import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import proxyAddr from '@fastify/proxy-addr';
import type { FastifyInstance } from 'fastify';
import type { Server } from 'socket.io';

/**
 * How far the server believes what a request says about itself: which peers are proxies whose
 * X-Forwarded-For / X-Forwarded-Proto count, and the HSTS lifetime for HTTPS responses.
 */
export interface TransportSecurity {
  /** The visitor's address: the TCP peer, or what a trusted proxy reports. */
  clientAddress(req: IncomingMessage): string;
  /** True when the visitor reached us over TLS: on our own socket, or on a trusted proxy that says so. */
  isHttps(req: IncomingMessage): boolean;
}

export function createTransportSecurity(trustProxy: readonly string[]): TransportSecurity {
  const trust = trustProxy.length > 0 ? proxyAddr.compile([...trustProxy]) : null;
  return {
    clientAddress: (req) => (trust ? proxyAddr(req, trust) : (req.socket.remoteAddress ?? '')),
    isHttps(req) {
      if ((req.socket as Partial<TLSSocket>).encrypted) return true;
      if (!trust || !trust(req.socket.remoteAddress ?? '', 0)) return false;
      const proto = req.headers['x-forwarded-proto'];
      return (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase() === 'https';
    },
  };
}

/**
 * `Strict-Transport-Security` on every HTTPS response, Fastify's and Socket.IO's alike (its polling
 * and upgrade responses bypass Fastify). Over plain HTTP the header would be ignored by browsers,
 * and a proxy that did not say "https" may be serving plain HTTP on purpose, so it is not sent.
 */
export function installHsts(app: FastifyInstance, io: Server, security: TransportSecurity, maxAgeSeconds: number): void {
  if (maxAgeSeconds <= 0) return;
  const value = `max-age=${maxAgeSeconds}`;
  app.addHook('onRequest', async (request, reply) => {
    if (security.isHttps(request.raw)) void reply.header('strict-transport-security', value);
  });
  const onHeaders = (headers: Record<string, string>, req: IncomingMessage) => {
    if (security.isHttps(req)) headers['Strict-Transport-Security'] = value;
  };
  io.engine.on('initial_headers', onHeaders);
  io.engine.on('headers', onHeaders);
}
