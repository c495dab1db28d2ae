import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCertificate, replaceByRename, type Certificate } from '../test/certificates.js';
import { sleep } from './lib/net.js';
import { fingerprintOf, presentedFingerprint } from './soak-control.js';
import type { Tls } from './soak-clients.js';

/**
 * The balancer's certificate files and the pairs it is rotated to, all made up front so that the
 * clients trust every one of them from the start (as they would trust a CA that signs them all).
 */
export class CertificateRotation {
  readonly cert: string;
  readonly key: string;
  readonly tls: Tls;
  readonly #next: Certificate[];
  #used = 0;
  /** ms from each rename until a fresh connection was shown the new certificate (NaN: never). */
  readonly tookEffectMs: number[] = [];

  constructor(
    readonly dir: string,
    rotations: number,
  ) {
    const first = makeCertificate(dir, 'balancer');
    this.cert = first.cert;
    this.key = first.key;
    this.#next = Array.from({ length: rotations }, (_, i) => makeCertificate(dir, `next-${i}`));
    this.tls = { ca: [first, ...this.#next].map((c) => c.pem).join('\n'), servername: 'localhost' };
  }

  /** Renames the next pair over the files in use and waits (≤ 10 s) until the balancers serve it. */
  async rotate(origins: readonly string[]): Promise<void> {
    const next = this.#next[this.#used++ % this.#next.length]!;
    // A pair used before is copied aside first: the rename consumes its files.
    const aside = { cert: join(this.dir, 'aside.crt'), key: join(this.dir, 'aside.key'), pem: next.pem };
    copyFileSync(next.cert, aside.cert);
    copyFileSync(next.key, aside.key);
    const renamedAt = Date.now();
    replaceByRename(aside, { cert: this.cert, key: this.key });
    const wanted = fingerprintOf(next.pem);
    const deadline = renamedAt + 10_000;
    const pending = new Set(origins);
    while (pending.size > 0 && Date.now() < deadline) {
      for (const origin of [...pending])
        if ((await presentedFingerprint(origin, this.tls)) === wanted) pending.delete(origin);
      if (pending.size > 0) await sleep(100);
    }
    this.tookEffectMs.push(pending.size === 0 ? Date.now() - renamedAt : NaN);
  }
}
