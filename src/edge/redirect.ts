import { createServer, type Server } from 'node:http';

/**
 * A plain-HTTP listener that sends every request to the same URL over https with a 308 (which, unlike
 * 301, keeps the method and body). `httpsPort` is left out of the URL when it is 443.
 */
export function createRedirectServer(httpsPort: () => number): Server {
  return createServer((req, res) => {
    req.resume();
    const host = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d+)?$/.exec(req.headers.host ?? '');
    if (!host) {
      res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' });
      res.end('a Host header is needed to redirect to https\n');
      return;
    }
    const port = httpsPort();
    const target = `https://${host[1]}${port === 443 ? '' : `:${port}`}${req.url ?? '/'}`;
    res.writeHead(308, { location: target, 'content-length': 0 });
    res.end();
  });
}
