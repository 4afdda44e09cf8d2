'use strict';
// Runs inside a sandbox during its environment setup step. The container has no network
// (NetworkMode 'none'), so package managers cannot reach anything; the host's egress proxy
// (src/sandbox/egress-proxy.ts) listens on a unix socket bind-mounted into the container. Clients
// only speak TCP proxies (HTTPS_PROXY=http://127.0.0.1:3128), so this pipes loopback TCP to that
// socket byte for byte; every allow/deny decision stays on the host.
// Node 18 (Debian's), CommonJS, no dependencies: it is copied into the image as a single file.
//   node egress-forward.cjs [socketPath]   (or EGRESS_SOCKET; port from EGRESS_FORWARD_PORT)
const net = require('node:net');

const socketPath = process.argv[2] || process.env.EGRESS_SOCKET || '/egress/proxy.sock';
const port = Number(process.env.EGRESS_FORWARD_PORT || 3128);

const server = net.createServer((client) => {
  const upstream = net.connect(socketPath);
  // Either side failing ends both: a half-open pair would hang the client until its own timeout.
  const drop = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', drop);
  upstream.on('error', drop);
  client.pipe(upstream).pipe(client);
});

server.on('error', (err) => {
  process.stderr.write(`egress-forward: ${err.message}\n`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`egress-forward: 127.0.0.1:${port} -> ${socketPath}\n`);
});
