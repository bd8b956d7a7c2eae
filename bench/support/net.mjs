// Loopback helpers the benches share: a free port to give a server, and a four-letter word
// asked of one (how the benches tell a server is up and which role it has, on zabkit and on
// Apache ZooKeeper alike).
import { createServer, connect as tcpConnect } from 'node:net';

/** A port nothing listens on at the moment, on `host`. */
export async function freePort(host = '127.0.0.1') {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, host, resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The answer to `word` (ruok, srvr, mntr...), or '' when the server refuses the connection. A
 * server still starting may take the connection and answer nothing: after `idleMs` of silence
 * the socket is closed, so the caller can ask again.
 */
export function fourLetterWord(port, word, { host = '127.0.0.1', idleMs = 2_000 } = {}) {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    socket.setTimeout(idleMs, () => socket.destroy());
    let text = '';
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    socket.on('error', () => resolve(''));
    socket.on('close', () => resolve(text));
  });
}
