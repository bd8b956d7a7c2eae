import { describe, expect, it } from 'vitest';
import { StorageImage } from '../src/index.js';
import { makeZxid, type Zxid } from '../src/zxid.js';
import { deleteAt } from './txn-fixtures.js';

describe('StorageImage.purge', () => {
  const logged = [deleteAt(1, 1), deleteAt(1, 2), deleteAt(1, 3), deleteAt(2, 1), deleteAt(2, 2)];
  const cases: [string, Zxid, Zxid[]][] = [
    ['below every entry', makeZxid(0, 5), logged.map((txn) => txn.zxid)],
    ['at the first', makeZxid(1, 1), logged.slice(1).map((txn) => txn.zxid)],
    ['between two', makeZxid(1, 7), [makeZxid(2, 1), makeZxid(2, 2)]],
    ['at one in the middle', makeZxid(2, 1), [makeZxid(2, 2)]],
    ['at the last', makeZxid(2, 2), []],
    ['above every entry', makeZxid(9, 0), []],
  ];
  for (const [name, through, kept] of cases) {
    it(`drops the log entries at or below a zxid ${name}`, () => {
      const image = new StorageImage();
      image.append(logged);
      image.purge(through);
      expect(image.log.map((txn) => txn.zxid)).toEqual(kept);
      // What stays still takes appends after it.
      image.append([deleteAt(3, 1)]);
      expect(image.log.at(-1)?.zxid).toBe(makeZxid(3, 1));
    });
  }

  it('keeps an empty log empty', () => {
    const image = new StorageImage();
    image.purge(makeZxid(1, 1));
    expect(image.log).toEqual([]);
  });
});
