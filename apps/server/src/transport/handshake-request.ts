import { ServerResponse, type IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Server, Socket } from 'socket.io';

/**
 * Engine.io keeps the HTTP request that opened a connection for as long as the connection lives,
 * twice over: as `socket.conn.request`, and (for a WebSocket, the first request or an upgrade from
 * polling) through the upgrade's stand-in response object, whose `req` stays reachable from the TCP
 * socket's `close` listener. That is the IncomingMessage with its stream state, raw header list and
 * parser leftovers, heap that nothing reads after the handshake (Socket.IO's "Memory usage" guide
 * names the first reference only).
 *
 * The response object lets go of its request once the upgrade's headers are written (its only use of
 * it). Once a participant socket's namespace middlewares have run and its `handshake` exists,
 * `conn.request` becomes the few fields a later reader could need:
 * another namespace opened on the same connection (a multiplexing client; Socket.IO builds its
 * `handshake` from `request.headers`, `url` and `_query`, and the admin feed checks origin and
 * cookie there), and `transport.clientAddress` (X-Forwarded-For and the peer address). The headers
 * object is the one `handshake.headers` already holds, so keeping it costs nothing.
 */
export interface HandshakeRequest {
  readonly headers: IncomingMessage['headers'];
  readonly url: string | undefined;
  readonly method: string | undefined;
  /** engine.io's parsed query (EIO, transport): Socket.IO's `handshake.query` of a later namespace. */
  readonly _query: Record<string, string> | undefined;
  readonly socket: { readonly remoteAddress: string | undefined; readonly encrypted: boolean };
  readonly connection: { readonly remoteAddress: string | undefined; readonly encrypted: boolean };
}

/** The fields of `req` a later handshake or address check reads, without the request itself. */
export function handshakeRequest(req: IncomingMessage): HandshakeRequest {
  const peer = { remoteAddress: req.socket?.remoteAddress, encrypted: (req.socket as Partial<TLSSocket> | undefined)?.encrypted === true };
  return {
    headers: req.headers,
    url: req.url,
    method: req.method,
    _query: (req as IncomingMessage & { _query?: Record<string, string> })._query,
    socket: peer,
    connection: peer,
  };
}

/** engine.io's upgrade response (not a ServerResponse): it holds the request as `req`. */
type UpgradeResponse = { req: IncomingMessage | null };
const upgradeResponses = new WeakMap<IncomingMessage, UpgradeResponse>();

/**
 * Releases each participant connection's HTTP request once its main-namespace handshake is done.
 * Install before any other `connection` listener of the main namespace; the admin namespace keeps
 * its (few) requests.
 */
export function installHandshakeRelease(io: Server): void {
  // The only public place where engine.io shows a WebSocket upgrade's response object.
  io.engine.use((req: IncomingMessage, res: unknown, next: (err?: Error) => void) => {
    if (!(res instanceof ServerResponse) && typeof res === 'object' && res !== null && (res as UpgradeResponse).req === req) upgradeResponses.set(req, res as UpgradeResponse);
    next();
  });
  // Emitted as the upgrade's response headers are written: the response object's last use of `req`.
  io.engine.on('headers', (_headers: unknown, req: IncomingMessage) => {
    const res = upgradeResponses.get(req);
    if (!res) return;
    upgradeResponses.delete(req);
    if (res.req === req) res.req = null;
  });
  io.on('connection', releaseHandshakeRequest);
}

/** Lets the connection's HTTP request go (see HandshakeRequest); call after the namespace's middlewares ran. */
export function releaseHandshakeRequest(socket: Socket): void {
  const conn = socket.conn as unknown as { request: IncomingMessage | HandshakeRequest | null | undefined };
  const req = conn.request;
  if (!req || !isIncomingMessage(req)) return;
  conn.request = handshakeRequest(req);
}

const isIncomingMessage = (req: IncomingMessage | HandshakeRequest): req is IncomingMessage => typeof (req as { on?: unknown }).on === 'function';
