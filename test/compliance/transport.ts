/**
 * The transport compliance suite: every PeerTransport adapter runs it. The factory gives a
 * fresh set of connected endpoints for each test.
 */
import type { PeerMessage, PeerTransport, ServerId } from '@zabkit/core';
import { makeZxid, zeroZxid } from '@zabkit/core';
import { describe, expect, it } from 'vitest';

export interface TransportFactory {
  /** Endpoints for `ids`, able to reach each other. */
  create(ids: readonly ServerId[]): Promise<PeerTransport[]>;
  /** Breaks the link between two endpoints (both ways), if the adapter can. */
  breakLink?(a: ServerId, b: ServerId): void;
  dispose?(): Promise<void>;
}

interface Received {
  from: ServerId;
  message: PeerMessage;
}

function collect(transport: PeerTransport): { received: Received[]; down: ServerId[] } {
  const received: Received[] = [];
  const down: ServerId[] = [];
  transport.listen({
    message: (from, message) => received.push({ from, message }),
    linkDown: (peer) => down.push(peer),
  });
  return { received, down };
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const ping = (epoch: number): PeerMessage => ({
  kind: 'ping',
  epoch,
  sentThroughZxid: zeroZxid,
  commitZxid: zeroZxid,
});

export function transportComplianceSuite(name: string, factory: TransportFactory): void {
  describe(`PeerTransport compliance: ${name}`, () => {
    it('delivers a message with its sender, intact', async () => {
      const [a, b] = await factory.create([1, 2]);
      const inbox = collect(b!);
      collect(a!);
      const message: PeerMessage = {
        kind: 'ackEpoch',
        epoch: 3,
        currentEpoch: 2,
        lastZxid: makeZxid(2, 9),
        promisedNow: true,
      };
      a!.send(2, message);
      await until(() => inbox.received.length === 1);
      expect(inbox.received[0]).toEqual({ from: 1, message });
      a!.close();
      b!.close();
      await factory.dispose?.();
    });

    it('keeps order between a pair of peers under load', async () => {
      const [a, b, c] = await factory.create([1, 2, 3]);
      const inbox = collect(c!);
      collect(a!);
      collect(b!);
      for (let i = 0; i < 500; i++) {
        a!.send(3, ping(i));
        b!.send(3, ping(1000 + i));
      }
      await until(() => inbox.received.length === 1000);
      const fromA = inbox.received
        .filter((r) => r.from === 1)
        .map((r) => (r.message as { epoch: number }).epoch);
      const fromB = inbox.received
        .filter((r) => r.from === 2)
        .map((r) => (r.message as { epoch: number }).epoch);
      expect(fromA).toEqual(Array.from({ length: 500 }, (_v, i) => i));
      expect(fromB).toEqual(Array.from({ length: 500 }, (_v, i) => 1000 + i));
      for (const t of [a, b, c]) t!.close();
      await factory.dispose?.();
    });

    it('a closed endpoint receives nothing, and its peers learn the link is down', async () => {
      const [a, b] = await factory.create([1, 2]);
      const inboxA = collect(a!);
      const inboxB = collect(b!);
      b!.close();
      await until(() => inboxA.down.includes(2));
      a!.send(2, ping(1));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(inboxB.received).toEqual([]);
      a!.close();
      await factory.dispose?.();
    });

    it('sending to an unknown peer neither throws nor delivers', async () => {
      const [a] = await factory.create([1]);
      collect(a!);
      expect(() => a!.send(99, ping(1))).not.toThrow();
      a!.close();
      await factory.dispose?.();
    });

    if (factory.breakLink !== undefined) {
      const breakLink = factory.breakLink;
      it('a broken link is reported at both ends and drops messages', async () => {
        const [a, b] = await factory.create([1, 2]);
        const inboxA = collect(a!);
        const inboxB = collect(b!);
        breakLink(1, 2);
        await until(() => inboxA.down.includes(2) && inboxB.down.includes(1));
        a!.send(2, ping(7));
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(inboxB.received).toEqual([]);
        a!.close();
        b!.close();
        await factory.dispose?.();
      });
    }
  });
}
