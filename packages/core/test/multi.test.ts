import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode, type Stat } from '../src/index.js';
import { Harness, text } from './harness.js';
import { check, create, del, getData, multi, setData } from './requests-helpers.js';

describe('multi', () => {
  it('applies every op under one zxid and answers per-op results', () => {
    const h = new Harness();
    const s = h.connect();
    h.ok(s, create('/a', { data: 'x' }));
    const results = h.ok(
      s,
      multi(
        create('/a/b', { data: 'B' }),
        create('/a/s-', { mode: CreateMode.PersistentSequential }),
        create('/a/s-', { mode: CreateMode.PersistentSequential }),
        setData('/a', 'y', 0),
        check('/a', 1),
        del('/a/b'),
      ),
    ).results;
    expect(results.map((r: { op: string }) => r.op)).toEqual([
      'create',
      'create',
      'create',
      'setData',
      'check',
      'delete',
    ]);
    // Later ops see earlier ones: sequential numbers follow on, the check sees version 1.
    expect(results[1].path).toBe('/a/s-0000000001');
    expect(results[2].path).toBe('/a/s-0000000002');
    const zxids = [results[0].stat.czxid, results[1].stat.czxid, results[3].stat.mzxid];
    expect(new Set(zxids).size).toBe(1);
    expect(text(h.ok(s, getData('/a')).data)).toBe('y');
    expect(h.code(s, getData('/a/b'))).toBe(ErrorCode.NoNode);
  });

  it('is all or nothing: Ok before the failure, its code, then RuntimeInconsistency', () => {
    const h = new Harness();
    const s = h.connect();
    h.ok(s, create('/a'));
    const before = h.ok(s, getData('/a')).stat as Stat;
    const reply = h.request(
      s,
      multi(create('/a/new'), setData('/a', 'z', 0), check('/a', 7), create('/a/other')),
    );
    expect(reply.ok).toBe(true);
    if (!reply.ok || reply.op !== 'multi') throw new Error('expected a multi reply');
    expect(reply.result.results).toEqual([
      { op: 'error', code: ErrorCode.Ok },
      { op: 'error', code: ErrorCode.Ok },
      { op: 'error', code: ErrorCode.BadVersion },
      { op: 'error', code: ErrorCode.RuntimeInconsistency },
    ]);
    expect(h.code(s, getData('/a/new'))).toBe(ErrorCode.NoNode);
    const after = h.ok(s, getData('/a')).stat as Stat;
    expect(after.version).toBe(before.version);
    expect(after.cversion).toBe(before.cversion);
  });

  it('rolls back its outstanding changes so pipelined requests after it see the old state', () => {
    const h = new Harness();
    const s = h.connect();
    h.autoPersist = false;
    h.send(s, create('/p'));
    const failed = h.send(s, multi(create('/p/x'), create('/p/x')));
    const after = h.send(s, create('/p/x'));
    h.flush();
    const failedReply = h.replyTo(s, failed);
    expect(failedReply?.ok && failedReply.op === 'multi' && failedReply.result.results[1]).toEqual({
      op: 'error',
      code: ErrorCode.NodeExists,
    });
    const afterReply = h.replyTo(s, after);
    expect(afterReply?.ok).toBe(true);
  });

  it('an empty multi succeeds with no results', () => {
    const h = new Harness();
    const s = h.connect();
    expect(h.ok(s, multi()).results).toEqual([]);
  });

  it('a delete and re-create of the same path in one multi works', () => {
    const h = new Harness();
    const s = h.connect();
    h.ok(s, create('/a', { data: 'old' }));
    h.ok(s, multi(del('/a'), create('/a', { data: 'new' })));
    const { data, stat } = h.ok(s, getData('/a'));
    expect(text(data)).toBe('new');
    expect(stat.version).toBe(0);
  });
});
