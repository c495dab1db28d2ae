import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { tls } from './lazy-protocols.js';
import type { Logger } from 'pino';
import { tlsPairProblems } from './tls-pair.js';

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

export interface CertificateFiles {
  readonly certPath: string;
  readonly keyPath: string;
  readonly minVersion: TlsMinVersion;
}

/**
 * TLS 1.2 suites: ECDHE key exchange with AEAD ciphers only (Mozilla's "intermediate" list). TLS 1.3
 * suites are all strong and keep OpenSSL's defaults.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * Reads a certificate chain and its key and checks that they belong together (OpenSSL refuses a
 * key that does not match the certificate), so a bad pair is caught before it is ever served.
 */
export function loadCertificate(files: CertificateFiles): SecureContextOptions {
  const options: SecureContextOptions = {
    cert: readFileSync(files.certPath),
    key: readFileSync(files.keyPath),
    minVersion: files.minVersion,
    ciphers: TLS12_CIPHERS,
  };
  tls().createSecureContext(options);
  return options;
}

function samePair(a: SecureContextOptions, b: SecureContextOptions): boolean {
  return (a.cert as Buffer).equals(b.cert as Buffer) && (a.key as Buffer).equals(b.key as Buffer);
}

/**
 * Watches the directories of the certificate and key (certbot and cert-manager replace files by an
 * atomic rename, which a watch on the file itself would miss) and hands every new, valid pair to
 * `apply`. A pair that does not load is logged and ignored: the one in use stays. A slow poll backs
 * the watch up on file systems where watching is unreliable.
 */
export class CertificateWatcher {
  readonly #files: CertificateFiles;
  readonly #apply: (options: SecureContextOptions) => void;
  readonly #logger: Logger;
  readonly #watchers: FSWatcher[] = [];
  readonly #poll: NodeJS.Timeout;
  #current: SecureContextOptions;
  #debounce: NodeJS.Timeout | undefined;
  /** The problem last logged, so the same one is not logged again. */
  #refused: string | undefined;

  constructor(
    files: CertificateFiles,
    current: SecureContextOptions,
    apply: (options: SecureContextOptions) => void,
    logger: Logger,
    pollMs = 30_000,
  ) {
    this.#files = files;
    this.#current = current;
    this.#apply = apply;
    this.#logger = logger;
    for (const dir of new Set([dirname(files.certPath), dirname(files.keyPath)])) {
      const watcher = watch(dir, { persistent: false }, () => this.#changed());
      watcher.on('error', (error) =>
        logger.warn({ err: error, dir }, 'cannot watch the certificate directory'),
      );
      this.#watchers.push(watcher);
    }
    this.#poll = setInterval(() => this.reload(), pollMs);
    this.#poll.unref();
  }

  /** Many events arrive for one replacement (cert and key, temp files): reload once they settle. */
  #changed(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.reload(), 100);
    this.#debounce.unref();
  }

  /** Loads the files now; returns whether a new pair was put in use. */
  reload(): boolean {
    let next: SecureContextOptions;
    try {
      next = loadCertificate(this.#files);
    } catch (error) {
      // Said once per distinct problem, in words and without a stack: the watch and the poll would
      // otherwise repeat it until the files are fixed.
      const { problems } = tlsPairProblems(this.#files.certPath, this.#files.keyPath);
      const problem = problems.map((p) => p.message).join('; ') || (error as Error).message;
      if (problem !== this.#refused) {
        this.#refused = problem;
        this.#logger.error(
          { problem, cert: this.#files.certPath, key: this.#files.keyPath },
          `new TLS certificate or key refused (${problem}); the previous pair stays in use`,
        );
      }
      return false;
    }
    this.#refused = undefined;
    if (samePair(next, this.#current)) return false;
    this.#apply(next);
    this.#current = next;
    this.#logger.info({ cert: this.#files.certPath }, 'TLS certificate reloaded');
    return true;
  }

  close(): void {
    clearTimeout(this.#debounce);
    clearInterval(this.#poll);
    for (const watcher of this.#watchers) watcher.close();
  }
}
