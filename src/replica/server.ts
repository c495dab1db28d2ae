import { createServer, type Server } from 'node:http';

/**
 * The replica server the balancer starts: `GET /home` says who it is, `GET /heartbeat` answers 200 with
 * an empty body, every other path is a 404. The same code serves as any replica; its id comes from
 * the environment the provider starts it with.
 */
export function createReplicaServer(serverId: string): Server {
  const home = JSON.stringify({ message: `Hello from Server: ${serverId}`, status: 'successful' });
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/home' && path !== '/heartbeat') {
      const message = `<Error> '${path}' endpoint does not exist in server replicas`;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message, status: 'failure' }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'application/json', allow: 'GET, HEAD' });
      res.end(JSON.stringify({ message: `<Error> method ${req.method} is not allowed`, status: 'failure' }));
      return;
    }
    if (path === '/heartbeat') {
      res.writeHead(200, { 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(home);
  });
}
