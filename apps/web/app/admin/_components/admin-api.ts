/** A refused or failed call to the Chorus server, with the server's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Api = <T>(path: string, init?: { method?: 'GET' | 'POST' | 'PUT' | 'DELETE'; body?: unknown }) => Promise<T>;

/** Calls the server with the session cookie; errors come back as ApiError with the server's words. */
export function createApi(serverUrl: string, onUnauthorized: () => void): Api {
  return async <T,>(path: string, init: { method?: 'GET' | 'POST' | 'PUT' | 'DELETE'; body?: unknown } = {}): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${serverUrl}${path}`, {
        method: init.method ?? 'GET',
        credentials: 'include',
        cache: 'no-store',
        headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
    } catch {
      throw new ApiError(0, 'UNAVAILABLE', `The Chorus server at ${serverUrl} cannot be reached.`);
    }
    const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (!res.ok) {
      if (res.status === 401) onUnauthorized();
      throw new ApiError(res.status, body?.error?.code ?? 'INTERNAL', body?.error?.message ?? `HTTP ${res.status}`);
    }
    return body as T;
  };
}
