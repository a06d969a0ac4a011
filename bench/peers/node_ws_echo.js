// Plain WebSocket echo on Node.js with `ws` (Debian package node-ws), the WebSocket library
// socket.io's server runs on: every text or binary message is sent straight back, no
// Engine.IO or Socket.IO framing. Node's socket.io does all of this per message and more,
// so this echo's rate bounds Node socket.io's from above on the same machine.
//
//   node bench/peers/node_ws_echo.js --port P
'use strict';
const path = require('path');
let WebSocketServer;
try {
  ({ WebSocketServer } = require('ws'));
} catch (e) {
  ({ WebSocketServer } = require(path.join('/usr/share/nodejs', 'ws')));
}

const args = process.argv.slice(2);
const at = args.indexOf('--port');
const port = at >= 0 ? Number(args[at + 1]) : 3000;

const server = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 1 << 20 });
server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => socket.terminate());
});
server.on('listening', () => console.log(`node ws echo on 127.0.0.1:${port} (node ${process.version})`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
