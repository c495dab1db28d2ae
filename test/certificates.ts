import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Certificate {
  readonly cert: string;
  readonly key: string;
  /** PEM text of the certificate, to trust it as a CA in clients. */
  readonly pem: string;
}

/** A fresh self-signed certificate for localhost and 127.0.0.1, made by `openssl`, in `dir`. */
export function makeCertificate(dir: string, name: string, commonName = 'localhost'): Certificate {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key, pem: readFileSync(cert, 'utf8') };
}

export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ringlb-tls-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Puts a new pair in place the way certbot and cert-manager do: written aside, then renamed over. */
export function replaceByRename(from: Certificate, to: { cert: string; key: string }): void {
  renameSync(from.key, to.key);
  renameSync(from.cert, to.cert);
}
