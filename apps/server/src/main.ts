import { ChorusError } from '@chorus/core';
import { loadConfig } from './config.js';
import { startServer } from './index.js';

/** The `npm start` executable: config from env + flags, structured logs, graceful SIGINT/SIGTERM, SIGHUP reloads TLS. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    const e = err as { code?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
    process.stderr.write(`chorus-server: ${err instanceof ChorusError ? err.message : String(err)}\n`);
    process.exit(2);
  }
  let server;
  try {
    server = await startServer(config);
  } catch (err) {
    // A certificate that cannot be read is a configuration mistake like a bad flag: say which, briefly.
    if (err instanceof ChorusError && err.code === 'INVALID_CONFIG') {
      process.stderr.write(`chorus-server: ${err.message}\n`);
      process.exit(2);
    }
    // A database or Redis that does not answer at start-up: say which, without a stack trace.
    if (err instanceof ChorusError && err.code === 'UNAVAILABLE') {
      process.stderr.write(`chorus-server: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const running = server;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second signal means "now".
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`chorus-server: ${signal} received, shutting down\n`);
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`chorus-server: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Certificate renewal (certbot, cert-manager) ends with a SIGHUP; without TLS it only logs.
  process.on('SIGHUP', () => void running.reloadTls());
}

main().catch((err: unknown) => {
  process.stderr.write(`chorus-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
