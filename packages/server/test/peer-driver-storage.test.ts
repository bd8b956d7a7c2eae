import type { PeerStorage } from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import { MemoryNetwork } from '@zabkit/transport-memory';
import { describe, expect, it } from 'vitest';
import { PeerDriver, type PeerDriverObserver } from '../src/index.js';

/** A memory store that counts its closes. */
function countingStore(): { storage: PeerStorage; closes: () => number } {
  const storage = new MemoryStorage();
  let closes = 0;
  const close = storage.close.bind(storage);
  storage.close = async () => {
    closes++;
    await close();
  };
  return { storage, closes: () => closes };
}

async function standalone(storage: PeerStorage, closesStorage?: boolean): Promise<PeerDriver> {
  const network = new MemoryNetwork();
  return PeerDriver.start({
    peer: {
      serverId: 1,
      voters: [1],
      tickTimeMs: 200,
      sessionSecret: new Uint8Array(32).fill(7),
      startTimeMs: Date.now(),
    },
    storage,
    transport: network.endpoint(1),
    ...(closesStorage === undefined ? {} : { closesStorage }),
  });
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the driver and its storage', () => {
  it('closes the storage when it stops, by default', async () => {
    const { storage, closes } = countingStore();
    const driver = await standalone(storage);
    await driver.stop();
    expect(closes()).toBe(1);
  });

  it('leaves the storage open when told to, for another driver on the same store', async () => {
    const { storage, closes } = countingStore();
    const first = await standalone(storage, false);
    await until(() => first.peer.status().serving, 5_000);
    await first.stop();
    expect(closes()).toBe(0);
    const second = await standalone(storage, false);
    await until(() => second.peer.status().serving, 5_000);
    await second.stop();
    expect(closes()).toBe(0);
    await storage.close();
    expect(closes()).toBe(1);
  });
});

describe('the driver observers', () => {
  it('tells an observer added twice once, and stops telling it once removed', async () => {
    const { storage } = countingStore();
    const driver = await standalone(storage);
    let steps = 0;
    const observer: PeerDriverObserver = {
      stepped: () => {
        steps++;
      },
    };
    const removeFirst = driver.observe(observer);
    const removeSecond = driver.observe(observer);
    const other: { steps: number } = { steps: 0 };
    const removeOther = driver.observe({
      stepped: () => {
        other.steps++;
      },
    });
    await until(() => other.steps >= 3, 5_000);
    // Each step told each observer once.
    expect(steps).toBe(other.steps);
    removeSecond();
    const stepsAtRemoval = steps;
    const otherAtRemoval = other.steps;
    await until(() => other.steps >= otherAtRemoval + 3, 5_000);
    expect(steps).toBe(stepsAtRemoval);
    removeFirst();
    removeOther();
    await driver.stop();
  });
});
