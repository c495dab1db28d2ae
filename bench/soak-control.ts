import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import type { Tls } from './soak-clients.js';

let agent: Agent | undefined;

/** One call to a balancer's control or operations API over TLS (bounded by `timeoutMs`). */
export async function control(
  origin: string,
  tls: Tls,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: unknown,
  timeoutMs = 20_000,
): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  agent ??= new Agent({ connect: { ca: tls.ca, servername: tls.servername }, connections: 4 });
  try {
    const response = await request(`${origin}${path}`, {
      method,
      dispatcher: agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.statusCode, text: await response.body.text(), headers: response.headers };
  } catch (error) {
    return { status: 0, text: (error as Error).message, headers: {} };
  }
}

export async function closeControl(): Promise<void> {
  await agent?.close();
  agent = undefined;
}

/** The SHA-256 fingerprint of the certificate a fresh TLS connection to `origin` is shown. */
export function presentedFingerprint(origin: string, tls: Tls): Promise<string | undefined> {
  const url = new URL(origin);
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: url.hostname,
      port: Number(url.port),
      ca: tls.ca,
      servername: tls.servername,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, 3000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}
