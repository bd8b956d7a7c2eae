// Opens many client-port connections that never start a session, and reports how long each
// lived before the server closed it. A child process of its own, so that its file descriptors
// are its own:
//   node idle-connections.mjs <port> <count>
// prints "opened <n>" once every connection is up, then "closed <n> <minMs> <maxMs>" once the
// server has closed them all: the shortest and longest lifetime, from connect to close.
import { connect } from 'node:net';

const [port, count] = process.argv.slice(2).map(Number);
// Half a ConnectRequest: the length says 44 bytes, 16 follow.
const half = Buffer.alloc(20);
half.writeInt32BE(44, 0);
let opened = 0;
let closed = 0;
let shortest = Number.POSITIVE_INFINITY;
let longest = 0;
// Opened in batches, so that the server's accept queue never overflows (the kernel would drop
// the handshake's last ACK, and a connection the server never accepted is never closed).
const batch = 100;
for (let i = 0; i < count; i++) {
  if (i % batch === 0 && i > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  open(i);
}

function open(i) {
  const socket = connect({ host: '127.0.0.1', port });
  let connectedAt;
  socket.on('error', () => undefined);
  socket.once('connect', () => {
    connectedAt = Date.now();
    // A third say nothing, a third half a handshake, a third two letters of a four-letter word.
    if (i % 3 === 1) socket.write(half);
    else if (i % 3 === 2) socket.write('ru');
    if (++opened === count) process.stdout.write(`opened ${opened}\n`);
  });
  socket.once('close', () => {
    if (connectedAt === undefined) {
      process.stdout.write(`failed to connect\n`);
      process.exit(1);
    }
    const lived = Date.now() - connectedAt;
    shortest = Math.min(shortest, lived);
    longest = Math.max(longest, lived);
    if (++closed === count) {
      process.stdout.write(`closed ${closed} ${shortest} ${longest}\n`);
      process.exit(0);
    }
  });
}
