import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

export interface TlsPairProblem {
  /** Which file is at fault. */
  readonly file: 'cert' | 'key';
  readonly message: string;
}

/** Why a file could not be read, in words (the errno code kept for searching). */
export function unreadable(path: string, error: NodeJS.ErrnoException): string {
  const why =
    error.code === 'ENOENT'
      ? 'no such file'
      : error.code === 'EACCES'
        ? 'permission denied'
        : error.code === 'EISDIR'
          ? 'it is a directory'
          : error.message;
  return `cannot read ${JSON.stringify(path)}: ${why}${error.code ? ` (${error.code})` : ''}`;
}

function read(path: string): Buffer | string {
  try {
    return readFileSync(path);
  } catch (error) {
    return unreadable(path, error as NodeJS.ErrnoException);
  }
}

const DAY_MS = 86_400_000;
const days = (ms: number) => {
  const n = Math.ceil(ms / DAY_MS);
  return `${n} day${n === 1 ? '' : 's'}`;
};

/**
 * What is wrong with a certificate and key pair on disk: unreadable, not PEM, the key given as the
 * certificate (or the other way round), a key that is not the certificate's, or an expired or not yet
 * valid certificate. `warnings` says a certificate expires within 14 days. Start-up checks and the
 * reload of a replaced pair both say it in these words.
 */
export function tlsPairProblems(
  certPath: string,
  keyPath: string,
  now = Date.now(),
): { problems: TlsPairProblem[]; warnings: string[] } {
  const problems: TlsPairProblem[] = [];
  const warnings: string[] = [];
  const certFile = read(certPath);
  const keyFile = read(keyPath);
  let cert: X509Certificate | undefined;
  let key: KeyObject | undefined;
  if (typeof certFile === 'string') problems.push({ file: 'cert', message: certFile });
  else {
    try {
      cert = new X509Certificate(certFile);
    } catch {
      const text = certFile.toString('latin1');
      problems.push({
        file: 'cert',
        message: text.includes('PRIVATE KEY')
          ? `${JSON.stringify(certPath)} holds a private key, not a certificate: give it to --tls-key, and the certificate here`
          : `${JSON.stringify(certPath)} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`,
      });
    }
  }
  if (typeof keyFile === 'string') problems.push({ file: 'key', message: keyFile });
  else {
    try {
      key = createPrivateKey(keyFile);
    } catch {
      const text = keyFile.toString('latin1');
      problems.push({
        file: 'key',
        message: text.includes('CERTIFICATE')
          ? `${JSON.stringify(keyPath)} holds a certificate, not a private key: give it to --tls-cert, and the key here`
          : `${JSON.stringify(keyPath)} holds no PEM private key (or it is encrypted: ringlb takes an unencrypted key)`,
      });
    }
  }
  if (cert && key && !cert.checkPrivateKey(key)) {
    problems.push({
      file: 'key',
      message: `${JSON.stringify(keyPath)} is not the key of the certificate in ${JSON.stringify(certPath)}: give the key it was issued for`,
    });
  }
  if (cert) {
    const notAfter = Date.parse(cert.validTo);
    const notBefore = Date.parse(cert.validFrom);
    if (notAfter < now) {
      problems.push({
        file: 'cert',
        message: `the certificate in ${JSON.stringify(certPath)} expired on ${new Date(notAfter).toISOString()}: renew it`,
      });
    } else if (notBefore > now) {
      problems.push({
        file: 'cert',
        message: `the certificate in ${JSON.stringify(certPath)} is valid only from ${new Date(notBefore).toISOString()}: check the clock, or the certificate`,
      });
    } else if (notAfter - now < 14 * DAY_MS) {
      warnings.push(
        `the certificate in ${JSON.stringify(certPath)} expires on ${new Date(notAfter).toISOString()}, in ${days(notAfter - now)}: renew it soon`,
      );
    }
  }
  return { problems, warnings };
}
