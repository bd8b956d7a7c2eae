import { describe, expect, it } from 'vitest';
import { runSeed } from '../src/index.js';

/**
 * A sweep runs thousands of seeds in one process: a seed must give the same run whatever ran
 * before it, or a failure found in a sweep would not replay alone (and one pinned as a
 * regression could hide in a sweep). Nothing a run touches may outlive it: no module-level
 * cache, counter or id generator, no wall clock.
 */
describe('runs in one process', () => {
  it('a seed run first in a fresh process and again after others gives the same result', () => {
    // Seed 2100 (--membership 1) is a pinned regression (membership.test.ts).
    const membership = { membershipChangesPerSecond: 1 };
    // This file's module graph is its own (vitest isolates files): this is the first run in it.
    const alone = runSeed(2100, membership);
    // Others first, of every kind a sweep runs: plain, five servers, membership changes,
    // leadership transfers; shorter than a sweep's, as their length does not matter here.
    const short = { faultyMs: 3000, healedMs: 4000 };
    runSeed(2101, { ...membership, ...short });
    runSeed(2343, { ...membership, ...short });
    runSeed(7, { servers: 5, ...short });
    runSeed(8, { servers: 3, rates: { leadershipTransfersPerSecond: 1 }, ...short });
    const after = runSeed(2100, membership);
    expect(after.traceHash).toBe(alone.traceHash);
    // Not only the events: the verdicts, counts and faults too.
    expect(after).toEqual(alone);
    expect(alone.faults['reconfig/addParticipant']).toBeGreaterThan(0);
  });
});
