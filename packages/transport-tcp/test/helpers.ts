/**
 * Shared pieces of the transport's socket tests: fully connected endpoints on 127.0.0.1 with
 * ephemeral ports, an inbox, a recording logger, raw frames, and teardown after each test.
 */
import { createServer, type Socket } from 'node:net';
import { type PeerMessage, type PeerTransport, type ServerId, zeroZxid } from '@zabkit/core';
import { afterEach } from 'vitest';
import {
  type PeerAddress,
  TcpTransport,
  type TcpTransportOptions,
  type TransportLogger,
} from '../src/index.js';

export const localhost = '127.0.0.1';
/** Fast reconnects keep the tests quick. */
export const fastReconnect = { initialMs: 10, maxMs: 100 };

export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Starts one endpoint per id on port 0, then fills in every endpoint's address book with
 * the ports bound, and waits until every link is up.
 */
export async function connectedEndpoints(
  ids: readonly ServerId[],
  options: Partial<TcpTransportOptions> = {},
): Promise<TcpTransport[]> {
  const endpoints = ids.map(
    (serverId) =>
      new TcpTransport({
        reconnect: fastReconnect,
        ...options,
        serverId,
        listen: { host: localhost, port: 0 },
      }),
  );
  const addresses = await Promise.all(endpoints.map((endpoint) => endpoint.start()));
  for (const endpoint of endpoints) {
    for (const [i, id] of ids.entries()) endpoint.setPeer(id, addresses[i]!);
  }
  await until(() => endpoints.every((e) => ids.every((id) => id === e.serverId || e.isLinkUp(id))));
  return endpoints;
}

/**
 * Endpoints for ids N on 127.0.0.N, addressed by those hosts, each pushed onto `cleanup` before
 * it starts, and waits until every link is up (TLS handshakes make that slower).
 */
export async function loopbackEnsemble(
  ids: readonly ServerId[],
  options: (id: ServerId) => Partial<TcpTransportOptions>,
  cleanup: { shutdown(): Promise<void> }[],
): Promise<TcpTransport[]> {
  const endpoints = ids.map(
    (serverId) =>
      new TcpTransport({
        reconnect: fastReconnect,
        ...options(serverId),
        serverId,
        listen: { host: `127.0.0.${serverId}`, port: 0 },
      }),
  );
  cleanup.push(...endpoints);
  const addresses = await Promise.all(endpoints.map((endpoint) => endpoint.start()));
  for (const endpoint of endpoints) {
    for (const [i, id] of ids.entries()) endpoint.setPeer(id, addresses[i]!);
  }
  await until(() => endpoints.every((e) => ids.every((id) => id === e.serverId || e.isLinkUp(id))), 10_000);
  return endpoints;
}

/** A port nothing listens on right now (bound and released). */
export async function freePort(): Promise<PeerAddress> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, localhost, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { host: localhost, port };
}

/** What a transport delivered and which links it reported down. */
export interface Inbox {
  received: { from: ServerId; message: PeerMessage }[];
  down: ServerId[];
}

/** Listens on `transport`, keeping everything it reports. */
export function collect(transport: PeerTransport): Inbox {
  const inbox: Inbox = { received: [], down: [] };
  transport.listen({
    message: (from, message) => inbox.received.push({ from, message }),
    linkDown: (peer) => inbox.down.push(peer),
  });
  return inbox;
}

export const ping = (epoch: number): PeerMessage => ({
  kind: 'ping',
  epoch,
  sentThroughZxid: zeroZxid,
  commitZxid: zeroZxid,
});
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `payload` behind its 4-byte big-endian length, as the peer protocol frames it. */
export function frame(payload: Uint8Array | readonly number[]): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/** A logger that keeps what it is told. */
export function recordingLog(): TransportLogger & {
  lines: { level: string; message: string; fields: Record<string, unknown> }[];
} {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: object, message: string) =>
    lines.push({ level, message, fields: fields as Record<string, unknown> });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn') };
}

/**
 * Registers teardown after each test of the calling file: the sockets it pushed are destroyed,
 * then the endpoints shut down.
 */
export function cleanUpAfterEach(): { cleanup: { shutdown(): Promise<void> }[]; sockets: Socket[] } {
  const cleanup: { shutdown(): Promise<void> }[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(cleanup.splice(0).map((t) => t.shutdown()));
  });
  return { cleanup, sockets };
}
