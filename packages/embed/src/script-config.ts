/** What the loader learns from its own `<script>` tag. */
export interface ScriptConfig {
  readonly taskId: string;
  readonly key: string;
  /** The origin that served embed.js: the iframe and all training live there. */
  readonly chorusOrigin: string;
  /** Optional data-duty / data-budget (the frame clamps them to safe ranges). */
  readonly limits?: { readonly duty?: string; readonly budget?: string };
}

type ScriptLike = Pick<HTMLScriptElement, 'src' | 'getAttribute'>;

const TASK_ID = /^[A-Za-z0-9._-]{1,100}$/;
const KEY = /^pk_[A-Za-z0-9_-]{1,100}$/;

/**
 * `document.currentScript` is null for `async` and module scripts, so the fallback looks for the
 * tag by its data-key attribute and a src ending in /embed.js (the last one wins, as a browser runs
 * tags in document order).
 */
export function findOwnScript(doc: Pick<Document, 'currentScript' | 'querySelectorAll'>): ScriptLike | null {
  const current = doc.currentScript;
  if (current && 'src' in current && current.src) return current;
  const tags = Array.from(doc.querySelectorAll<HTMLScriptElement>('script[data-task][data-key]'));
  return tags.reverse().find((s) => /\/embed(\/loader)?\.js(\?|#|$)/.test(s.src)) ?? null;
}

/** Reads data-task / data-key and the Chorus origin; the problem in plain words when a value is wrong. */
export function readScriptConfig(script: ScriptLike | null): ScriptConfig | string {
  if (!script) return 'Chorus: could not find the embed.js <script> tag';
  let origin: string;
  try {
    const url = new URL(script.src);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return `Chorus: embed.js must be loaded over https, not ${url.protocol}`;
    origin = url.origin;
  } catch {
    return `Chorus: the script src "${script.src}" is not an absolute URL`;
  }
  const taskId = script.getAttribute('data-task') ?? '';
  const key = script.getAttribute('data-key') ?? '';
  if (!TASK_ID.test(taskId)) return `Chorus: data-task must be a task id like "mnist-demo", got "${taskId}"`;
  if (!KEY.test(key)) return `Chorus: data-key must be a partner key like "pk_…", got "${key}"`;
  const duty = script.getAttribute('data-duty');
  const budget = script.getAttribute('data-budget');
  const limits = { ...(duty ? { duty } : {}), ...(budget ? { budget } : {}) };
  return { taskId, key, chorusOrigin: origin, ...(duty || budget ? { limits } : {}) };
}

/** The iframe's address; `parent` tells the frame which origin it must talk to. */
export function frameUrl(config: ScriptConfig, partnerOrigin: string): string {
  const q = new URLSearchParams({ task: config.taskId, key: config.key, parent: partnerOrigin, ...config.limits });
  return `${config.chorusOrigin}/embed/frame?${q.toString()}`;
}
