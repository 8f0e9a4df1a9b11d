/**
 * Lets pending events (UI input, worker messages, abort signals) run between batches. Not
 * tf.nextFrame: requestAnimationFrame stalls in background tabs, and setTimeout(0) is clamped to
 * 4 ms once nested, which would cost more than a small batch takes to train.
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
