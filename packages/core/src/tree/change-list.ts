/**
 * The changes of one transaction, in a list reused from one transaction to the next. An array
 * emptied with `length = 0` gives up its store, and its next push makes a new one (about 150
 * bytes, per transaction, on every replica); this one keeps its array and counts.
 */
import type { ChangeSink, TreeChange } from './data-tree.js';

/** Past this many entries the array is dropped when emptied, not kept holding old changes. */
const keptEntries = 64;

export class ChangeList implements ChangeSink {
  private entries: TreeChange[] = [];
  private count = 0;

  push(change: TreeChange): void {
    this.entries[this.count++] = change;
  }

  /** The changes pushed since the last `clear`: the first `length` entries of `items`. */
  get items(): readonly TreeChange[] {
    return this.entries;
  }

  get length(): number {
    return this.count;
  }

  clear(): void {
    if (this.entries.length > keptEntries) this.entries = [];
    this.count = 0;
  }
}
