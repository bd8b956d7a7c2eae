/**
 * Random and mutated frames thrown at real peers over TCP. Two PeerDrivers (servers 1 and 2
 * of three, on TcpTransport) form a quorum; a raw socket passes the handshake as server 3
 * and sends, one connection per frame, what fast-check draws: valid messages, their bytes
 * flipped, cut short or padded, and valid messages whose fields were shifted to lie about
 * zxids and epochs in the ensemble's current epoch. A frame that does not decode closes the
 * link with a log line naming the field; one that decodes reaches the core, which refuses
 * what no correct peer sends. Neither server may stop, and the two must still commit and
 * agree afterwards.
 */
import { connect } from 'node:net';
import { makeZxid, type PeerMessage } from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import {
  decodePeerMessage,
  encodeHello,
  encodePeerMessage,
  FrameReader,
  TcpTransport,
} from '@zabkit/transport-tcp';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { peerMessageArb } from '../../codec/test/arbitraries.js';
import { type Logger, PeerDriver } from '../src/index.js';

interface Line {
  readonly level: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

function recordingLog(lines: Line[]): Logger {
  const at = (level: string) => (fields: object | string, message?: string) =>
    lines.push(
      typeof fields === 'string'
        ? { level, message: fields, fields: {} }
        : { level, message: message ?? '', fields: fields as Record<string, unknown> },
    );
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Servers 1 and 2 of a three-voter ensemble, over TCP, with what they log. */
async function twoOfThree() {
  const lines = new Map<number, Line[]>([
    [1, []],
    [2, []],
  ]);
  const transports = [1, 2].map(
    (serverId) =>
      new TcpTransport({
        serverId,
        listen: { host: '127.0.0.1', port: 0 },
        reconnect: { initialMs: 10, maxMs: 200 },
        log: recordingLog(lines.get(serverId)!),
      }),
  );
  for (const transport of transports) stops.push(() => transport.close());
  const addresses = await Promise.all(transports.map((transport) => transport.start()));
  for (const transport of transports) {
    transport.setPeer(1, addresses[0]!);
    transport.setPeer(2, addresses[1]!);
    // Server 3 is known but never answers: only the fuzzer speaks as it, over its own dials.
    transport.setPeer(3, { host: '127.0.0.1', port: 9 });
  }
  const drivers: PeerDriver[] = [];
  for (const [index, transport] of transports.entries()) {
    const serverId = index + 1;
    const driver = await PeerDriver.start({
      peer: {
        serverId,
        voters: [1, 2, 3],
        tickTimeMs: 100,
        electionFinalizeWaitMs: 50,
        electionResendIntervalMs: 100,
        sessionSecret: new Uint8Array(32).fill(9),
        startTimeMs: Date.now(),
      },
      storage: new MemoryStorage(),
      transport,
      log: recordingLog(lines.get(serverId)!),
    });
    drivers.push(driver);
    stops.push(() => driver.stop());
  }
  return { transports, addresses, drivers, lines };
}

/** Sends `bytes` as one frame over a fresh connection as server 3; resolves once closed or after `holdMs`. */
async function sendAsServer3(
  port: number,
  to: number,
  payload: Uint8Array,
  holdMs: number,
): Promise<boolean> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const reader = new FrameReader(64 << 20);
  let accepted = false;
  const closed = new Promise<boolean>((resolve) => socket.on('close', () => resolve(true)));
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    if (!accepted && reader.next() !== undefined) {
      accepted = true;
      const frame = Buffer.alloc(4 + payload.length);
      frame.writeUInt32BE(payload.length, 0);
      frame.set(payload, 4);
      socket.write(frame);
    }
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(encodeHello(3, to));
  const outcome = await Promise.race([
    closed,
    new Promise<boolean>((r) => setTimeout(() => r(false), holdMs)),
  ]);
  socket.destroy();
  await closed;
  return outcome;
}

/** A message with each number and zxid moved a little: a lie a broken peer could tell. */
function shifted(message: PeerMessage, epoch: number, lastZxid: bigint, choice: number): PeerMessage {
  const out: Record<string, unknown> = { ...message };
  if ('epoch' in out) out.epoch = epoch;
  const zxids = [lastZxid + 1n, lastZxid + 5n, makeZxid(epoch, 0), makeZxid(epoch + 1, 1), lastZxid];
  for (const key of ['zxid', 'lastZxid', 'commitZxid', 'sentThroughZxid', 'truncateTo'])
    if (key in out) out[key] = zxids[choice % zxids.length];
  if ('txns' in out && Array.isArray(out.txns) && out.txns.length > 0) {
    const first = out.txns[0] as { zxid: bigint };
    out.txns = [
      { ...first, zxid: zxids[choice % zxids.length] },
      { ...first, zxid: lastZxid },
    ];
  }
  return out as unknown as PeerMessage;
}

const mutation = fc.oneof(
  fc.constant({ kind: 'whole' as const }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('pad' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('shift' as const), choice: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

describe('random and mutated frames at a real peer link', () => {
  it('close the link or are refused or handled; the servers stay up and keep committing', async () => {
    const { transports, addresses, drivers, lines } = await twoOfThree();
    const serving = () => drivers.every((driver) => driver.peer.status().serving);
    await until(serving, 20_000, 'servers 1 and 2 to serve');
    const cases = fc.sample(fc.tuple(peerMessageArb, mutation, fc.integer({ min: 1, max: 2 })), {
      numRuns: 150,
      seed: 14,
    });
    let undecodable = 0;
    for (const [message, change, to] of cases as [PeerMessage, Mutation, number][]) {
      const status = drivers[to - 1]!.peer.status();
      const source =
        change.kind === 'shift'
          ? shifted(message, status.currentEpoch, status.lastAppliedZxid, change.choice)
          : message;
      let payload: Uint8Array;
      try {
        payload = encodePeerMessage(source);
      } catch {
        continue; // A shift the codec itself refuses to write (a value out of range).
      }
      if (change.kind === 'flip' && payload.length > 0) {
        payload = Uint8Array.from(payload);
        payload[change.at % payload.length]! ^= 1 << change.bit;
      } else if (change.kind === 'cut') {
        payload = payload.subarray(0, change.at % payload.length);
      } else if (change.kind === 'pad') {
        payload = Buffer.concat([payload, change.bytes]);
      }
      let decodes = payload.length > 0;
      try {
        decodePeerMessage(payload);
      } catch {
        decodes = false;
      }
      const before = transports[to - 1]!.securityStats.undecodable;
      const closed = await sendAsServer3(addresses[to - 1]!.port, to, payload, decodes ? 30 : 5000);
      if (!decodes && payload.length > 0) {
        // Not decoding is always the end of that link, counted and logged.
        expect(closed).toBe(true);
        await until(() => transports[to - 1]!.securityStats.undecodable === before + 1, 5000, 'the count');
        undecodable++;
      } else {
        expect(transports[to - 1]!.securityStats.undecodable).toBe(before);
      }
      for (const driver of drivers) expect(driver.fatalError).toBeUndefined();
    }
    expect(undecodable).toBeGreaterThan(20);
    const logged = [...lines.values()].flat();
    // The transport names the field at fault for what did not decode...
    expect(
      logged.filter((line) => line.message === 'closing peer link: message does not decode').length,
    ).toBe(undecodable);
    // ...and the core refused some of the lies that did, with the reason.
    const refused = logged.filter((line) => line.message.startsWith('refused a '));
    expect(refused.length).toBeGreaterThan(0);
    for (const line of refused) expect(String(line.fields.reason).length).toBeGreaterThan(0);

    // Afterwards servers 1 and 2 serve, commit a write from a session and agree on the state.
    await until(serving, 30_000, 'servers 1 and 2 to serve again');
    for (const driver of drivers) expect(driver.fatalError).toBeUndefined();
    const leader = drivers.find((driver) => driver.peer.status().role === 'leading')!;
    const before = leader.peer.status().lastAppliedZxid;
    const link = leader.open({ message: () => {}, closed: () => {} });
    stops.push(() => link.close());
    link.connect({
      sessionId: 0n,
      password: new Uint8Array(16),
      timeoutMs: 4000,
      lastZxidSeen: makeZxid(0, 0),
      readOnly: false,
      clientAddress: '127.0.0.1',
    });
    await until(
      () => drivers.every((driver) => driver.peer.status().lastAppliedZxid > before),
      20_000,
      'a session to commit on both',
    );
    await until(
      () => drivers[0]!.peer.status().lastAppliedZxid === drivers[1]!.peer.status().lastAppliedZxid,
      20_000,
      'both to apply the same',
    );
    const digests = drivers.map((driver) => driver.peer.status());
    expect(digests[0]!.lastAppliedZxid).toBe(digests[1]!.lastAppliedZxid);
  }, 240_000);
});
