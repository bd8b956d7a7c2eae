import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LocalRequest, ReplyQueue } from '../../src/front/reply-queue.js';
import { ErrorCode, makeZxid, type Reply, type Zxid } from '../../src/index.js';

/** A queue whose sink records what it sends, serving every local request as a ping. */
function recordingQueue(lengthMax = 1000) {
  const sent: { xid: number; reply: Reply; zxid: Zxid | undefined }[] = [];
  const queue = new ReplyQueue(lengthMax, {
    serveLocal: (request: LocalRequest) => ({ ok: true, op: request.op, result: {} }) as Reply,
    send: (xid, reply, zxid) => sent.push({ xid, reply, zxid }),
  });
  return { queue, sent };
}

const ping: LocalRequest = { op: 'ping' };

type Step = { kind: 'write' | 'sync' | 'local' | 'answerWrite' | 'answerSync' | 'refuse' };

describe('ReplyQueue: one connection replies in request order', () => {
  it('holds a read behind an unanswered write and sends both in order once the write is applied', () => {
    const { queue, sent } = recordingQueue();
    queue.awaitWrite(1, 'create');
    queue.queueLocal(2, ping);
    queue.drain();
    expect(sent).toEqual([]);
    queue.answerWrite(1, { kind: 'delete' }, makeZxid(1, 5));
    queue.drain();
    expect(sent.map((s) => [s.xid, s.zxid])).toEqual([
      [1, makeZxid(1, 5)],
      [2, undefined],
    ]);
    expect(queue.length).toBe(0);
  });

  it('answers a refused write with its code in its turn', () => {
    const { queue, sent } = recordingQueue();
    queue.awaitWrite(1, 'delete');
    queue.awaitWrite(2, 'setData');
    queue.refuse(2, ErrorCode.ThrottledOp);
    queue.drain();
    expect(sent).toEqual([]);
    queue.answerWrite(1, { kind: 'delete' }, makeZxid(1, 1));
    queue.drain();
    expect(sent.map((s) => s.reply)).toEqual([
      { ok: true, op: 'delete', result: {} },
      { ok: false, op: 'setData', code: ErrorCode.ThrottledOp },
    ]);
  });

  it('tells a duplicated xid apart: the first unanswered write takes the answer', () => {
    const { queue, sent } = recordingQueue();
    queue.awaitSync(1, '/');
    queue.awaitWrite(5, 'delete');
    queue.awaitWrite(5, 'delete');
    queue.answerWrite(5, { kind: 'delete' }, makeZxid(1, 1));
    queue.answerWrite(5, { kind: 'delete' }, makeZxid(1, 2));
    expect(queue.answerSync(1)).toBe(true);
    queue.drain();
    expect(sent.map((s) => [s.xid, s.zxid])).toEqual([
      [1, undefined],
      [5, makeZxid(1, 1)],
      [5, makeZxid(1, 2)],
    ]);
  });

  it('refuses to answer what is not waiting, and to grow past its bound', () => {
    const { queue } = recordingQueue(2);
    expect(() => queue.answerWrite(9, { kind: 'delete' }, makeZxid(1, 1))).toThrow(/no write 9/);
    expect(() => queue.queueLocal(1, ping)).toThrow(/waits only behind another/);
    expect(queue.answerSync(3)).toBe(false);
    queue.awaitWrite(1, 'create');
    queue.awaitSync(2, '/');
    expect(() => queue.awaitWrite(3, 'create')).toThrow(/within their bound/);
    queue.answerWrite(1, { kind: 'delete' }, makeZxid(1, 1));
    expect(() => queue.answerWrite(1, { kind: 'delete' }, makeZxid(1, 2))).toThrow(/no write 1/);
  });

  it('sends every request once, in the order it came, however the answers interleave', () => {
    const step = fc.constantFrom<Step['kind']>(
      'write',
      'sync',
      'local',
      'answerWrite',
      'answerSync',
      'refuse',
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (kinds) => {
        const { queue, sent } = recordingQueue();
        const pushed: number[] = [];
        const writes: number[] = [];
        const syncs: number[] = [];
        let last: { kind: 'write' | 'sync'; xid: number } | undefined;
        let xid = 0;
        let counter = 0;
        for (const kind of kinds) {
          if (kind === 'write' || kind === 'sync' || (kind === 'local' && queue.length > 0)) {
            xid++;
            pushed.push(xid);
            if (kind === 'write') queue.awaitWrite(xid, 'setData');
            else if (kind === 'sync') queue.awaitSync(xid, '/');
            else queue.queueLocal(xid, ping);
            if (kind !== 'local') (kind === 'write' ? writes : syncs).push(xid);
            last = kind === 'local' ? undefined : { kind, xid };
          } else if (kind === 'answerWrite' && writes.length > 0) {
            queue.answerWrite(writes.shift()!, { kind: 'delete' }, makeZxid(1, ++counter));
          } else if (kind === 'answerSync' && syncs.length > 0) {
            expect(queue.answerSync(syncs.shift()!)).toBe(true);
          } else if (kind === 'refuse' && last !== undefined) {
            // The commit path refuses only what it was just handed.
            const list = last.kind === 'write' ? writes : syncs;
            if (list[list.length - 1] === last.xid) {
              list.pop();
              queue.refuse(last.xid, ErrorCode.ThrottledOp);
            }
            last = undefined;
          }
          queue.drain();
          expect(sent.map((s) => s.xid)).toEqual(pushed.slice(0, sent.length));
        }
        for (const w of writes) queue.answerWrite(w, { kind: 'delete' }, makeZxid(1, ++counter));
        for (const s of syncs) queue.answerSync(s);
        queue.drain();
        expect(sent.map((s) => s.xid)).toEqual(pushed);
        expect(queue.length).toBe(0);
      }),
    );
  });
});
