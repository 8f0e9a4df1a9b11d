'use client';

export interface ConsentCardProps {
  readonly serverUrl: string;
  readonly taskId: string;
  readonly onAccept: () => void;
}

/** Consent comes first: nothing is stored, downloaded or trained before the visitor agrees. */
export function ConsentCard({ serverUrl, taskId, onAccept }: ConsentCardProps) {
  return (
    <section className="card consent" aria-labelledby="consent-title" data-testid="consent">
      <h2 id="consent-title">Before you start</h2>
      <p className="lead">
        This page can use your browser to help train a shared handwriting-recognition model. Here is exactly what that
        means.
      </p>
      <dl className="facts">
        <dt>What is trained</dt>
        <dd>
          A small neural network that reads handwritten digits (0–9). Your browser trains it on digits kept on this
          device: a sample of the public MNIST dataset picked for you, plus any digits you draw or import.
        </dd>
        <dt>By whom</dt>
        <dd>
          The operator of the Chorus server at <code>{serverUrl}</code>, for the task <code>{taskId}</code>. Many
          browsers train together; the server combines their updates into one model.
        </dd>
        <dt>What leaves your device</dt>
        <dd>
          Only model updates: the change in the model&apos;s numbers after a round of training, compressed to 8 bits
          each. Your digits, drawings and images never leave this device.
        </dd>
        <dt>Your control</dt>
        <dd>
          You can pause at any time, and delete everything this page stored. Training also pauses by itself while this
          tab is hidden or your battery is low.
        </dd>
      </dl>
      <button type="button" className="primary" onClick={onAccept} data-testid="consent-accept">
        I agree — start contributing
      </button>
    </section>
  );
}
