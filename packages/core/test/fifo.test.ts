import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode } from '../src/index.js';
import { Harness, text } from './harness.js';
import { create, getData, setData } from './requests-helpers.js';

describe('pipelining and per-session FIFO', () => {
  it('pipelined writes see their predecessors before any is durable', () => {
    const h = new Harness();
    const s = h.connect();
    h.autoPersist = false;
    const xids = [
      h.send(s, create('/a')),
      h.send(s, create('/a/b')),
      h.send(s, setData('/a', 'one', 0)),
      h.send(s, setData('/a', 'two', 1)),
      h.send(s, create('/a/s', { mode: CreateMode.PersistentSequential })),
    ];
    expect(xids.map((xid) => h.replyTo(s, xid))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    h.flush();
    const replies = xids.map((xid) => h.replyTo(s, xid));
    expect(replies.every((reply) => reply?.ok)).toBe(true);
    expect(replies[4]?.ok && replies[4].op === 'create' && replies[4].result.path).toBe('/a/s0000000001');
  });

  it('a read waits behind the same session earlier writes, and sees them', () => {
    const h = new Harness();
    const s = h.connect();
    const other = h.connect();
    h.ok(s, create('/a', { data: 'old' }));
    h.autoPersist = false;
    const write = h.send(s, setData('/a', 'new'));
    const read = h.send(s, getData('/a'));
    const otherRead = h.send(other, getData('/a'));
    // Another session is not held up, and sees the committed state.
    const otherReply = h.replyTo(other, otherRead);
    expect(otherReply?.ok && otherReply.op === 'getData' && text(otherReply.result.data)).toBe('old');
    expect(h.replyTo(s, read)).toBeUndefined();
    h.flush();
    const outputs = h.peek(s).filter((o) => o.kind === 'reply');
    expect(outputs.map((o) => o.kind === 'reply' && o.xid)).toEqual([write, read]);
    const readReply = h.replyTo(s, read);
    expect(readReply?.ok && readReply.op === 'getData' && text(readReply.result.data)).toBe('new');
  });

  it('replies come back in request order, failures included', () => {
    const h = new Harness();
    const s = h.connect();
    h.autoPersist = false;
    const a = h.send(s, create('/x'));
    const b = h.send(s, create('/x'));
    const c = h.send(s, getData('/x'));
    h.flush();
    const replies = h.peek(s).filter((o) => o.kind === 'reply');
    expect(replies.map((o) => o.kind === 'reply' && o.xid)).toEqual([a, b, c]);
    expect(h.replyTo(s, b)).toMatchObject({ ok: false, code: ErrorCode.NodeExists });
  });

  it('reply zxids never go backwards for a session', () => {
    const h = new Harness();
    const s = h.connect();
    const other = h.connect();
    let last = 0n;
    for (let i = 0; i < 20; i++) {
      h.send(other, create(`/n${i}`));
      h.send(s, i % 2 === 0 ? getData('/') : create(`/m${i}`));
      for (const output of h.take(s.connectionId)) {
        if (output.kind !== 'reply') continue;
        expect(output.zxid >= last).toBe(true);
        last = output.zxid;
      }
    }
  });
});
