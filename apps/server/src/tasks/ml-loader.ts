import type { Logger } from 'pino';

type Ml = typeof import('@chorus/ml');
type MlNode = typeof import('@chorus/ml/node');

let loading: Promise<Ml & MlNode> | null = null;

/**
 * @chorus/ml (TensorFlow.js) is loaded on first use, not at start-up: a server that only relays
 * updates starts in a fraction of the time. The wasm backend is preferred (~100× faster than cpu in
 * Node); cpu is the fallback when the wasm binaries cannot be loaded.
 */
export function loadMl(logger: Logger): Promise<Ml & MlNode> {
  loading ??= (async () => {
    const [ml, node] = await Promise.all([import('@chorus/ml'), import('@chorus/ml/node')]);
    try {
      await node.initNodeBackend('wasm');
    } catch (err) {
      logger.warn({ err }, 'tfjs wasm backend unavailable; using cpu');
      await node.initNodeBackend('cpu');
    }
    return { ...ml, ...node };
  })();
  return loading;
}
