import { connection } from 'next/server.js';
import { ParticipantApp } from '../components/participant/participant-app.js';
import { readPageConfig } from '../lib/config.js';

export default async function ParticipantPage() {
  // Rendered per request so the server URL comes from the environment the app runs in, not the build.
  await connection();
  const { serverUrl, taskId } = readPageConfig();
  return (
    <main className="page">
      <header className="hero">
        <h1>
          <span className="brand">Chorus</span> Help teach a computer to read handwriting
        </h1>
        <p className="lead">
          Your browser trains a shared model on digits kept on this device. Only the model&apos;s small numeric update
          is sent — never your data.
        </p>
      </header>
      <ParticipantApp serverUrl={serverUrl} taskId={taskId} />
      <footer className="muted small">Chorus federated learning · server {serverUrl} · task {taskId}</footer>
    </main>
  );
}
