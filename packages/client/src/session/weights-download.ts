import { ChorusError, isErrorCode } from '@chorus/core';

export type FetchLike = (url: string, init?: { signal?: AbortSignal; headers?: Record<string, string> }) => Promise<Response>;

export function weightsUrl(serverUrl: string, taskId: string, version: number | 'latest'): string {
  const base = serverUrl.replace(/\/+$/, '');
  return `${base}/api/tasks/${encodeURIComponent(taskId)}/versions/${version}/weights`;
}

/** A version's difference from the version before (see fetchGlobalModel). */
export function deltaUrl(serverUrl: string, taskId: string, version: number): string {
  const base = serverUrl.replace(/\/+$/, '');
  return `${base}/api/tasks/${encodeURIComponent(taskId)}/versions/${version}/delta`;
}

/** Version `version` as its int8 difference from an older version `from` (see fetchGlobalModel). */
export function nearDeltaUrl(serverUrl: string, taskId: string, version: number, from: number): string {
  return `${deltaUrl(serverUrl, taskId, version)}?from=${from}`;
}

/**
 * Downloads a binary weights payload, reporting progress as a fraction of Content-Length (when the
 * server sends one). HTTP errors become ChorusErrors: the server's own code when its JSON body has
 * one, UNAVAILABLE (retryable) for 5xx and network failures.
 */
export async function downloadBytes(
  url: string,
  options: {
    fetch: FetchLike;
    signal?: AbortSignal;
    onProgress?: (fraction: number) => void;
    /**
     * Called once the body is complete with the bytes that crossed the network: Content-Length
     * when it is below the decoded size (a br/gzip response: Content-Length is CORS-safelisted,
     * Content-Encoding is not), else the decoded size.
     */
    onWireBytes?: (bytes: number) => void;
  },
): Promise<Uint8Array> {
  let res: Response;
  try {
    // Browsers ask for br/gzip themselves (and drop this header); Node's fetch asks for less, so
    // simulated devices would download more than real ones without it.
    res = await options.fetch(url, { signal: options.signal, headers: { 'accept-encoding': 'br, gzip' } });
  } catch (err) {
    if (options.signal?.aborted) throw ChorusError.from(options.signal.reason ?? err);
    throw new ChorusError('UNAVAILABLE', `could not download ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!res.ok) throw await httpError(url, res);

  // A compressed response's Content-Length counts the compressed bytes while fetch hands us decoded
  // ones, and a cross-origin response hides Content-Encoding from scripts: so more bytes than
  // announced is fine (decoded), fewer is a cut-short body (a cut-short compressed one fails to decode).
  const total = Number(res.headers.get('content-length') ?? 0);
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    options.onProgress?.(1);
    options.onWireBytes?.(total > 0 && total < bytes.byteLength ? total : bytes.byteLength);
    return bytes;
  }
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (err) {
      // The connection closed mid-body (a server restarting, a keep-alive socket closed under the
      // request): a typed, retryable error like a failed request, not fetch's bare "terminated".
      if (options.signal?.aborted) throw ChorusError.from(options.signal.reason ?? err);
      throw new ChorusError('UNAVAILABLE', `download of ${url} broke off after ${received} bytes: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const { done, value } = chunk;
    if (done) break;
    parts.push(value);
    received += value.byteLength;
    if (total > 0) options.onProgress?.(Math.min(1, received / total));
  }
  if (total > 0 && received < total) {
    throw new ChorusError('UNAVAILABLE', `download of ${url} ended after ${received} of ${total} bytes`);
  }
  options.onProgress?.(1);
  options.onWireBytes?.(total > 0 && total < received ? total : received);
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(received);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

async function httpError(url: string, res: Response): Promise<ChorusError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const wire = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error ?? body;
  if (wire && typeof wire === 'object' && 'code' in wire && isErrorCode((wire as { code: unknown }).code)) {
    const w = wire as { code: Parameters<typeof isErrorCode>[0]; message?: unknown };
    return new ChorusError(w.code as never, typeof w.message === 'string' ? w.message : `GET ${url} failed with HTTP ${res.status}`);
  }
  if (res.status === 404) return new ChorusError('NOT_FOUND', `GET ${url}: not found (HTTP 404)`);
  if (res.status === 429) return new ChorusError('RATE_LIMITED', `GET ${url}: rate limited (HTTP 429)`);
  if (res.status >= 500) return new ChorusError('UNAVAILABLE', `GET ${url} failed with HTTP ${res.status}`);
  return new ChorusError('BAD_REQUEST', `GET ${url} failed with HTTP ${res.status}`);
}
