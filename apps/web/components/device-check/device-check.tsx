'use client';

import { useEffect, useState } from 'react';
import { BACKEND_IDS, type BackendMeasurement } from '@chorus/client';
import { formatRate } from '../../lib/format.js';
import { createDeviceCheck, type DeviceCheck } from './device-check-runner.js';

declare global {
  interface Window {
    chorusDeviceCheck?: DeviceCheck;
  }
}

const TEMPLATES = [
  { id: 'mnist-2nn', name: 'Small network (2NN, 199 k weights)' },
  { id: 'mnist-cnn', name: 'Convolutional network (CNN, 1.7 M weights)' },
];

/** How fast this device trains each model on each backend. Also scriptable for benchmarks. */
export function DeviceCheckPanel() {
  const [results, setResults] = useState<Record<string, BackendMeasurement[]>>({});
  const [running, setRunning] = useState(false);
  const [check] = useState(createDeviceCheck);
  // Known only in the browser: read after hydration so the server's HTML matches the first render.
  const [isolated, setIsolated] = useState<boolean>();
  useEffect(() => setIsolated(window.crossOriginIsolated === true), []);
  useEffect(() => {
    window.chorusDeviceCheck = check;
    return () => {
      delete window.chorusDeviceCheck;
    };
  }, [check]);

  const run = async () => {
    setRunning(true);
    try {
      for (const t of TEMPLATES) {
        const m = await check.measure(t.id, BACKEND_IDS, 10, 4);
        setResults((r) => ({ ...r, [t.id]: m }));
      }
    } finally {
      setRunning(false);
    }
  };

  return (
    <section className="card">
      <h2>How fast does this device train?</h2>
      <p className="muted">
        Each model trains a few batches on every way your browser can compute: WebGPU, WebGL, WebAssembly and plain
        JavaScript. Nothing is sent anywhere.
        {isolated !== undefined && (
          <span data-testid="device-check-isolation">
            {isolated ? ' This page is cross-origin isolated: WebAssembly can use every core.' : ' This page is not cross-origin isolated: WebAssembly uses one thread.'}
          </span>
        )}
      </p>
      <button type="button" className="primary" onClick={() => void run()} disabled={running} data-testid="device-check-run">
        {running ? 'Measuring…' : 'Measure'}
      </button>
      {TEMPLATES.filter((t) => results[t.id]).map((t) => (
        <table key={t.id} className="results">
          <caption>{t.name}</caption>
          <tbody>
            {results[t.id]!.map((m) => (
              <tr key={m.backend}>
                <th scope="row">
                  {m.backend}
                  {m.backend === 'wasm' && m.threads !== undefined && (
                    <span className="muted" data-testid={`device-check-wasm-threads-${t.id}`}>
                      {' '}
                      ({m.threads > 1 ? `${m.threads} threads` : 'one thread'})
                    </span>
                  )}
                </th>
                <td>{m.error ? <span className="muted">{m.error}</span> : formatRate(m.samplesPerSecond)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
