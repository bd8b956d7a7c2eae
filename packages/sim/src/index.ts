/**
 * @zabkit/sim: the deterministic simulator. One seeded PRNG, a virtual clock, a faulty
 * network and disk, simulated clients, and checkers that run on every seed.
 *
 * @packageDocumentation
 */

export { EventQueue } from './events.js';
export { Rng } from './rng.js';
export { type RunOptions, runSeed, type SeedResult } from './run.js';
export { drawFaultRates, type FaultRates, type Violation, World } from './world.js';
