import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throw-away certificate for tests, written to files as an operator's would be. */
export interface TestCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  /** SHA-256 fingerprint as Node's getPeerCertificate() reports it ("AB:CD:…"). */
  readonly fingerprint256: string;
  /** base64 SHA-256 of the public key, for Chromium's --ignore-certificate-errors-spki-list. */
  readonly spkiHash: string;
}

/**
 * Generates a self-signed P-256 certificate for 127.0.0.1 and localhost with the `openssl` CLI
 * (Debian ships it; nothing is downloaded). `dir` defaults to a fresh temporary folder.
 */
export function generateTestCertificate(options: { dir?: string; name?: string } = {}): TestCertificate {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'chorus-tls-'));
  const name = options.name ?? 'server';
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=chorus-test-${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const certPem = readFileSync(certPath, 'utf8');
  const x509 = new X509Certificate(certPem);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return { certPath, keyPath, certPem, fingerprint256: x509.fingerprint256, spkiHash: createHash('sha256').update(spki).digest('base64') };
}
