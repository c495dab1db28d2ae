import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';

/**
 * Listens with an h2c replica on a free loopback port and returns its origin (`h2c://…`). The
 * returned cleanup closes it, sessions included (a server with open sessions never closes).
 */
export async function listenH2c(
  server: Http2Server,
): Promise<{ origin: string; close: () => Promise<void> }> {
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `h2c://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      for (const session of sessions) session.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
