/** fast-check arbitraries for ZooKeeper's record fields, shared by the format's tests. */
import fc from 'fast-check';
import type { StatPersisted } from '../src/index.js';

/** A Java long. */
export const long = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
/** A Java int. */
export const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

/** Any StatPersisted, every field over its whole range. */
export const stat: fc.Arbitrary<StatPersisted> = fc.record({
  czxid: long,
  mzxid: long,
  ctime: long,
  mtime: long,
  version: int,
  cversion: int,
  aversion: int,
  ephemeralOwner: long,
  pzxid: long,
});
