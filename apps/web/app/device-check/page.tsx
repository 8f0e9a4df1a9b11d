import { DeviceCheckPanel } from '../../components/device-check/device-check.js';

export const metadata = { title: 'Chorus — device check' };

export default function DeviceCheckPage() {
  return (
    <main className="page">
      <header className="hero">
        <h1>
          <span className="brand">Chorus</span> Device check
        </h1>
      </header>
      <DeviceCheckPanel />
    </main>
  );
}
