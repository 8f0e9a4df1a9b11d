import { readFileSync } from 'node:fs';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { ChorusError } from '@chorus/core';

export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TlsPaths {
  readonly tlsCert: string;
  readonly tlsKey: string;
}

/** What a reload did; a failure is data, so SIGHUP can log it and keep serving the old certificate. */
export type TlsReloadResult = { readonly reloaded: true } | { readonly reloaded: false; readonly reason: string };

function readOption(option: keyof TlsPaths, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ChorusError('INVALID_CONFIG', `${option}: cannot read "${path}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * Reads the certificate and key and checks that OpenSSL accepts them as a pair, so a wrong file is
 * an error naming the option at start-up (or on reload), not a failed handshake for every visitor.
 */
export function readTlsFiles(paths: TlsPaths): TlsFiles {
  const cert = readOption('tlsCert', paths.tlsCert);
  const key = readOption('tlsKey', paths.tlsKey);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ChorusError('INVALID_CONFIG', `tlsCert, tlsKey: "${paths.tlsCert}" and "${paths.tlsKey}" are not a usable certificate and key (${(err as Error).message})`);
  }
  return { cert, key };
}

/**
 * Re-reads both files and swaps them into the listening server. Connections already open keep
 * their session; new handshakes get the new certificate. A bad pair leaves the old one in place.
 */
export function reloadTls(server: TlsServer, paths: TlsPaths, logger: Logger): TlsReloadResult {
  let files: TlsFiles;
  try {
    files = readTlsFiles(paths);
  } catch (err) {
    const reason = (err as Error).message;
    logger.error({ reason }, 'TLS reload failed; still serving the previous certificate');
    return { reloaded: false, reason };
  }
  server.setSecureContext({ cert: files.cert, key: files.key });
  logger.info({ cert: paths.tlsCert }, 'TLS certificate reloaded');
  return { reloaded: true };
}
