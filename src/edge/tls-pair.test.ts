import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCertificate, tempDir } from '../../test/certificates.js';
import { tlsPairProblems } from './tls-pair.js';

const removals: (() => void)[] = [];
afterEach(() => removals.splice(0).forEach((remove) => remove()));

function pair() {
  const { dir, remove } = tempDir();
  removals.push(remove);
  const files = makeCertificate(dir, 'p');
  const cert = new X509Certificate(readFileSync(files.cert));
  return { ...files, notAfter: Date.parse(cert.validTo), notBefore: Date.parse(cert.validFrom) };
}

describe('tlsPairProblems', () => {
  it('finds nothing wrong with a fresh matching pair', () => {
    const p = pair();
    expect(tlsPairProblems(p.cert, p.key, p.notBefore + 1000).problems).toEqual([]);
  });

  it('says an expired certificate is expired, and when', () => {
    const p = pair();
    const { problems } = tlsPairProblems(p.cert, p.key, p.notAfter + 1000);
    expect(problems).toEqual([
      {
        file: 'cert',
        message: `the certificate in ${JSON.stringify(p.cert)} expired on ${new Date(p.notAfter).toISOString()}: renew it`,
      },
    ]);
  });

  it('warns two weeks before expiry, and refuses a certificate not yet valid', () => {
    const p = pair();
    expect(tlsPairProblems(p.cert, p.key, p.notAfter - 3_600_000).warnings[0]).toMatch(
      /in 1 day: renew it soon$/,
    );
    expect(tlsPairProblems(p.cert, p.key, p.notBefore - 1000).problems[0]!.message).toMatch(
      /is valid only from/,
    );
  });
});
