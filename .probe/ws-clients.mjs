import net from 'node:net';
const [port, n] = process.argv.slice(2).map(Number);
let open = 0; const socks = [];
const head = (i) => `GET /chat HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\nx-request-id: ${i}\r\n\r\n`;
for (let i = 0; i < n; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, k) => new Promise((r) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(head(i + k)));
    s.once('data', () => { open++; r(); }); s.on('error', r); socks.push(s);
  })));
}
console.log('open', open);
setInterval(() => {}, 1000);
