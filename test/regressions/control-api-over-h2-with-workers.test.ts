// Found by the soak run (issue 18): with worker processes, a control or operations call that comes
// in over HTTP/2 (GET /rep, /ring, /metrics by ALPN h2 on the TLS port, what curl does by default)
// was relayed to the primary with its HTTP/2 pseudo-headers, which undici refuses
// (UND_ERR_INVALID_ARG): every such call answered 502 "the control process did not answer".
import { afterEach, describe, expect, it } from 'vitest';
import { makeCertificate, tempDir } from '../certificates.js';
import { startCli } from '../cli-process.js';
import { echoReplicas } from '../websocket-peer.js';
import { h2Call } from './h2-call.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('regression: the control API over HTTP/2 with --workers 2', () => {
  it('answers GET /rep, GET /ring and GET /metrics from the primary', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const cert = makeCertificate(dir, 'control-h2');
    const backends = (await echoReplicas(['A', 'B'], cleanups)).map((replica) => replica.url);
    const lb = await startCli(
      ...['--workers', '2', '--replicas', '2', '--provider', 'static', '--backends', backends.join(',')],
      ...['--tls-cert', cert.cert, '--tls-key', cert.key, '--log-level', 'info'],
    );
    const rep = await h2Call(lb.port, cert.pem, { ':path': '/rep', ':method': 'GET' });
    expect(rep.status, rep.body).toBe(200);
    expect(JSON.parse(rep.body).message.N).toBe(2);
    const ring = await h2Call(lb.port, cert.pem, { ':path': '/ring', ':method': 'GET' });
    expect(ring.status, ring.body).toBe(200);
    const metrics = await h2Call(lb.port, cert.pem, { ':path': '/metrics', ':method': 'GET' });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('ringlb_replicas{state="healthy"} 2');
  });
});
