/**
 * Streamed learner syncs under the simulator's faults: chunks so small (120 bytes, a window of
 * two) that every sync of the simulator's trees takes many chunks, so crashes, lost and delayed
 * messages and leader changes land in the middle of streams. Every checker must pass, and the
 * runs must show that the faults did cut streams short (else the scenario tests nothing).
 */
import { describe, expect, it } from 'vitest';
import { type RunOptions, runSeed, type SeedResult } from '../src/index.js';

const tiny = { chunkBytes: 120, windowBytes: 240 };
const seeds = Array.from({ length: 12 }, (_v, i) => i + 1);

function runAll(options: RunOptions): SeedResult[] {
  return seeds.map((seed) =>
    runSeed(seed, { servers: 3, sync: tiny, faultyMs: 6000, healedMs: 6000, ...options }),
  );
}

const total = (results: readonly SeedResult[], kind: string) =>
  results.reduce((sum, result) => sum + (result.syncs[kind] ?? 0), 0);
const reasons = (results: readonly SeedResult[]) => results.flatMap((result) => result.syncFailures);

function expectClean(results: readonly SeedResult[]): void {
  for (const result of results) expect(result.failures, `seed ${result.seed}`).toEqual([]);
  // Streams did finish, at both ends.
  expect(total(results, 'syncFinished/learner')).toBeGreaterThan(results.length);
  expect(total(results, 'syncFinished/leader')).toBeGreaterThan(results.length);
}

describe('streamed learner syncs in the simulator', () => {
  it('crashes mid-stream (a SNAP among them): the staged snapshot is discarded at restart, state intact', () => {
    const results = runAll({
      snapCount: 5,
      rates: {
        crashesPerSecond: 1,
        powerLossesPerSecond: 0.3,
        partitionsPerSecond: 0,
        lossProbability: 0,
        storageDelayMsMax: 40,
      },
    });
    expectClean(results);
    // A learner crashed with a SNAP staged and not committed, and came back from its old state.
    expect(total(results, 'incompleteSnapshotsDiscarded')).toBeGreaterThan(0);
    // Leaders saw learners vanish mid-stream.
    expect(reasons(results).some((reason) => /^leader \d: lost the link to server \d$/.test(reason))).toBe(
      true,
    );
  });

  it('lost and delayed chunks: the learner sees the gap, says so and syncs again', () => {
    const results = runAll({
      rates: {
        crashesPerSecond: 0,
        powerLossesPerSecond: 0,
        partitionsPerSecond: 0,
        lossProbability: 0.05,
        latencyMsMax: 60,
      },
    });
    expectClean(results);
    const all = reasons(results);
    expect(all.some((reason) => /^learner \d: sync chunk \d+ from leader \d never came/.test(reason))).toBe(
      true,
    );
    // The leader forgets the learner's failed stream when it connects again.
    expect(all.some((reason) => /^leader \d: server \d connected again$/.test(reason))).toBe(true);
  });

  it('leader changes mid-sync: the old leader abandons its streams with the reason, learners follow the next', () => {
    const results = runAll({
      rates: {
        crashesPerSecond: 0.2,
        powerLossesPerSecond: 0,
        partitionsPerSecond: 0.8,
        lossProbability: 0.01,
      },
    });
    expectClean(results);
    const all = reasons(results);
    expect(all.some((reason) => /^leader \d: the leader stepped down: /.test(reason))).toBe(true);
    // Learners whose stream the change cut short said why, and synced again (expectClean).
    expect(all.some((reason) => /^learner \d: /.test(reason))).toBe(true);
  });
});
