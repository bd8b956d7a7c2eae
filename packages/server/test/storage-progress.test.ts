/** The storage tools' progress line: drawn on a terminal only, redrawn in place, cleared at the end. */
import { describe, expect, it } from 'vitest';
import { Progress } from '../src/tools/progress.js';

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, written, write: (text: string) => written.push(text) };
}

describe('Progress', () => {
  it('draws on a terminal and clears its line when done', () => {
    const tty = stream(true);
    const progress = new Progress('reading', tty);
    progress.update(5, 10, 'log.1');
    progress.update(10, 10);
    progress.finish();
    expect(tty.written[0]).toBe('\r\x1b[Kreading: 5/10 50% log.1');
    // The last update is always drawn, however soon it comes.
    expect(tty.written[1]).toBe('\r\x1b[Kreading: 10/10 100%');
    expect(tty.written.at(-1)).toBe('\r\x1b[K');
  });

  it('writes nothing when stderr is not a terminal', () => {
    const pipe = stream(false);
    const progress = new Progress('reading', pipe);
    progress.update(1, 2);
    progress.update(2, 2);
    progress.finish();
    expect(pipe.written).toEqual([]);
  });
});
