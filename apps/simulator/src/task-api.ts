import { ChorusError, isErrorCode, type TaskConfigInput } from '@chorus/core';

/** The few admin HTTP calls the simulator makes: create a task, start it, stop it. */

export interface CreateTaskRequest {
  /** Model template id (e.g. "mnist-2nn"); the server builds topology, weights and data schema from it. */
  readonly template: string;
  /** Seed of the initial weights. */
  readonly seed?: number;
  readonly config: Omit<TaskConfigInput, 'data'> & { data?: TaskConfigInput['data'] };
}

/** Operator API token (CHORUS_ADMIN_TOKEN of the server), sent as Bearer; admin routes refuse calls without one. */
export type AdminToken = string | undefined;

async function call<T>(serverUrl: string, method: 'GET' | 'POST', path: string, body?: unknown, token?: AdminToken): Promise<T> {
  const url = `${serverUrl.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ChorusError('UNAVAILABLE', `${method} ${url}: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const wire = ((json as { error?: unknown })?.error ?? json) as { code?: unknown; message?: unknown } | undefined;
    const code = isErrorCode(wire?.code) ? wire.code : res.status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
    const message = typeof wire?.message === 'string' ? wire.message : text.slice(0, 300);
    throw new ChorusError(code, `${method} ${path} failed (HTTP ${res.status}): ${message}`);
  }
  return json as T;
}

export async function createTask(serverUrl: string, request: CreateTaskRequest, token?: AdminToken): Promise<{ id: string }> {
  const created = await call<{ id?: string; task?: { id: string } }>(serverUrl, 'POST', '/api/tasks', request, token);
  const id = created?.id ?? created?.task?.id ?? request.config.id;
  return { id };
}

export async function startTask(serverUrl: string, taskId: string, token?: AdminToken): Promise<void> {
  await call(serverUrl, 'POST', `/api/tasks/${encodeURIComponent(taskId)}/start`, {}, token);
}

/** Best effort: a simulation that stops early (target reached) should not leave its task running. */
export async function stopTask(serverUrl: string, taskId: string, token?: AdminToken): Promise<void> {
  try {
    await call(serverUrl, 'POST', `/api/tasks/${encodeURIComponent(taskId)}/stop`, {}, token);
  } catch {
    // The task may already be completed, or the server already gone.
  }
}
