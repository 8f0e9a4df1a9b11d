/**
 * Where the page finds the aggregation server and which task it joins. Read on the server at
 * request time, so one build can be pointed at any server by environment:
 *   NEXT_PUBLIC_CHORUS_SERVER_URL (or CHORUS_SERVER_URL) @default 'http://localhost:8080'
 *   NEXT_PUBLIC_CHORUS_TASK_ID (or CHORUS_TASK_ID)       @default 'mnist-demo'
 */
export interface PageConfig {
  readonly serverUrl: string;
  readonly taskId: string;
}

export function readPageConfig(env: Record<string, string | undefined> = process.env): PageConfig {
  return {
    serverUrl: (env.CHORUS_SERVER_URL || env.NEXT_PUBLIC_CHORUS_SERVER_URL || 'http://localhost:8080').replace(/\/+$/, ''),
    taskId: env.CHORUS_TASK_ID || env.NEXT_PUBLIC_CHORUS_TASK_ID || 'mnist-demo',
  };
}
