/**
 * Model-based property test: random sequences of operations from two sessions run against
 * the real server and against a small reference model written from ZooKeeper's documented
 * semantics; every result, error code and Stat field must agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CreateMode, type CreateModeValue, ErrorCode, type Stat } from '../src/index.js';
import { Harness, type TestSession, text } from './harness.js';
import { check, create, del, getChildren, getData, multi, setData } from './requests-helpers.js';

interface ModelNode {
  data: string;
  czxid: bigint;
  mzxid: bigint;
  pzxid: bigint;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  /** Index of the owning session, or -1 for a persistent node. */
  owner: number;
}

class Model {
  nodes = new Map<string, ModelNode>();
  zxid = 0n;
  now = 0;

  constructor(now: number) {
    this.now = now;
    for (const path of ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
      this.nodes.set(path, {
        data: '',
        czxid: 0n,
        mzxid: 0n,
        pzxid: 0n,
        ctime: 0,
        mtime: 0,
        version: 0,
        cversion: 0,
        owner: -1,
      });
    }
  }

  clone(): Model {
    const copy = new Model(this.now);
    copy.zxid = this.zxid;
    copy.nodes = new Map([...this.nodes].map(([path, node]) => [path, { ...node }]));
    return copy;
  }

  children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    return [...this.nodes.keys()]
      .filter((p) => p !== '/' && p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
      .map((p) => p.slice(prefix.length))
      .sort();
  }

  stat(path: string, ownerIds: bigint[]): Stat {
    const n = this.nodes.get(path)!;
    return {
      czxid: n.czxid,
      mzxid: n.mzxid,
      ctime: n.ctime,
      mtime: n.mtime,
      version: n.version,
      cversion: (n.cversion * 2 - this.children(path).length) | 0,
      aversion: path === '/zookeeper/config' ? -1 : 0,
      ephemeralOwner: n.owner < 0 ? 0n : ownerIds[n.owner]!,
      dataLength: new TextEncoder().encode(n.data).length,
      numChildren: this.children(path).length,
      pzxid: n.pzxid,
    } as Stat;
  }
}

const parentOf = (path: string) => (path.lastIndexOf('/') === 0 ? '/' : path.slice(0, path.lastIndexOf('/')));

type Outcome = { ok: false; code: number } | { ok: true; value: unknown };
type ModelOp =
  | { op: 'create'; path: string; data: string; mode: CreateModeValue }
  | { op: 'delete'; path: string; version: number }
  | { op: 'setData'; path: string; data: string; version: number }
  | { op: 'check'; path: string; version: number };

/** Applies one write op to the model at `zxid`; returns the outcome or an error code. */
function applyOp(m: Model, op: ModelOp, zxid: bigint, session: number): Outcome {
  const parentPath = parentOf(op.path);
  switch (op.op) {
    case 'create': {
      const parent = m.nodes.get(parentPath);
      if (parent === undefined) return { ok: false, code: ErrorCode.NoNode };
      const sequential =
        op.mode === CreateMode.PersistentSequential || op.mode === CreateMode.EphemeralSequential;
      const path = sequential ? op.path + String(parent.cversion).padStart(10, '0') : op.path;
      if (m.nodes.has(path)) return { ok: false, code: ErrorCode.NodeExists };
      if (parent.owner >= 0) return { ok: false, code: ErrorCode.NoChildrenForEphemerals };
      const ephemeral = op.mode === CreateMode.Ephemeral || op.mode === CreateMode.EphemeralSequential;
      m.nodes.set(path, {
        data: op.data,
        czxid: zxid,
        mzxid: zxid,
        pzxid: zxid,
        ctime: m.now,
        mtime: m.now,
        version: 0,
        cversion: 0,
        owner: ephemeral ? session : -1,
      });
      parent.cversion++;
      parent.pzxid = zxid;
      return { ok: true, value: path };
    }
    case 'delete': {
      const parent = m.nodes.get(parentPath);
      if (parent === undefined) return { ok: false, code: ErrorCode.NoNode };
      const node = m.nodes.get(op.path);
      if (node === undefined) return { ok: false, code: ErrorCode.NoNode };
      if (op.version !== -1 && op.version !== node.version) return { ok: false, code: ErrorCode.BadVersion };
      if (m.children(op.path).length > 0) return { ok: false, code: ErrorCode.NotEmpty };
      m.nodes.delete(op.path);
      parent.pzxid = zxid;
      return { ok: true, value: undefined };
    }
    case 'setData': {
      const node = m.nodes.get(op.path);
      if (node === undefined) return { ok: false, code: ErrorCode.NoNode };
      if (op.version !== -1 && op.version !== node.version) return { ok: false, code: ErrorCode.BadVersion };
      Object.assign(node, { data: op.data, version: node.version + 1, mzxid: zxid, mtime: m.now });
      return { ok: true, value: op.path };
    }
    case 'check': {
      const node = m.nodes.get(op.path);
      if (node === undefined) return { ok: false, code: ErrorCode.NoNode };
      if (op.version !== -1 && op.version !== node.version) return { ok: false, code: ErrorCode.BadVersion };
      return { ok: true, value: undefined };
    }
  }
}

interface Real {
  h: Harness;
  sessions: TestSession[];
}

const paths = ['/a', '/b', '/a/x', '/a/y', '/b/x', '/a/x/z', '/c'];
const pathArb = fc.constantFrom(...paths);
const dataArb = fc.constantFrom('', 'v', 'data', 'ü');
const versionArb = fc.constantFrom(-1, 0, 1, 2);
const sessionArb = fc.constantFrom(0, 1);
const modeArb = fc.constantFrom(
  CreateMode.Persistent,
  CreateMode.Ephemeral,
  CreateMode.PersistentSequential,
  CreateMode.EphemeralSequential,
);
const writeOpArb: fc.Arbitrary<ModelOp> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), path: pathArb, data: dataArb, mode: modeArb }),
  fc.record({ op: fc.constant('delete' as const), path: pathArb, version: versionArb }),
  fc.record({ op: fc.constant('setData' as const), path: pathArb, data: dataArb, version: versionArb }),
  fc.record({ op: fc.constant('check' as const), path: pathArb, version: versionArb }),
);

function toRequest(op: ModelOp) {
  switch (op.op) {
    case 'create':
      return create(op.path, { data: op.data, mode: op.mode });
    case 'delete':
      return del(op.path, op.version);
    case 'setData':
      return setData(op.path, op.data, op.version);
    case 'check':
      return check(op.path, op.version);
  }
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const e = JSON.stringify(expected, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  if (a !== e) throw new Error(`${what}: real ${a} != model ${e}`);
}

class WriteCommand implements fc.Command<Model, Real> {
  constructor(
    readonly session: number,
    readonly op: ModelOp,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    m.zxid++;
    const expected = applyOp(m, this.op, m.zxid, this.session);
    const reply = r.h.request(r.sessions[this.session]!, toRequest(this.op));
    if (!expected.ok) {
      expectEqual(reply.ok ? 'ok' : reply.code, expected.code, `${this.toString()} code`);
      return;
    }
    if (!reply.ok) throw new Error(`${this.toString()}: real failed with ${reply.code}, model succeeded`);
    if (this.op.op === 'create') {
      const result = reply.result as { path: string; stat: Stat };
      expectEqual(result.path, expected.value, 'created path');
      expectEqual(
        result.stat,
        m.stat(
          result.path,
          r.sessions.map((s) => s.sessionId),
        ),
        'create stat',
      );
    }
    if (this.op.op === 'setData') {
      expectEqual(
        (reply.result as { stat: Stat }).stat,
        m.stat(
          this.op.path,
          r.sessions.map((s) => s.sessionId),
        ),
        'setData stat',
      );
    }
  }
  toString = () => `s${this.session} ${JSON.stringify(this.op)}`;
}

class MultiCommand implements fc.Command<Model, Real> {
  constructor(
    readonly session: number,
    readonly ops: ModelOp[],
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    m.zxid++;
    const attempt = m.clone();
    const outcomes: Outcome[] = [];
    for (const op of this.ops) {
      const outcome = applyOp(attempt, op, m.zxid, this.session);
      outcomes.push(outcome);
      if (!outcome.ok) break;
    }
    const failedAt = outcomes.findIndex((o) => !o.ok);
    const reply = r.h.request(r.sessions[this.session]!, multi(...this.ops.map(toRequest)));
    if (!reply.ok || reply.op !== 'multi') throw new Error('multi must answer ok with results');
    const results = reply.result.results;
    if (failedAt >= 0) {
      const code = (outcomes[failedAt] as { code: number }).code;
      const expected = this.ops.map((_op, i) => ({
        op: 'error',
        code: i < failedAt ? 0 : i === failedAt ? code : ErrorCode.RuntimeInconsistency,
      }));
      expectEqual(results, expected, `${this.toString()} results`);
      return;
    }
    attempt.zxid = m.zxid;
    m.nodes = attempt.nodes;
    expectEqual(
      results.map((result) => result.op),
      this.ops.map((op) => op.op),
      'multi result kinds',
    );
  }
  toString = () => `s${this.session} multi ${JSON.stringify(this.ops)}`;
}

class ReadCommand implements fc.Command<Model, Real> {
  constructor(
    readonly session: number,
    readonly path: string,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const session = r.sessions[this.session]!;
    const ids = r.sessions.map((s) => s.sessionId);
    const data = r.h.request(session, getData(this.path));
    const children = r.h.request(session, getChildren(this.path));
    if (!m.nodes.has(this.path)) {
      expectEqual(
        [data.ok || data.code, children.ok || children.code],
        [ErrorCode.NoNode, ErrorCode.NoNode],
        `read ${this.path}`,
      );
      return;
    }
    if (!data.ok || data.op !== 'getData' || !children.ok || children.op !== 'getChildren') {
      throw new Error(`read ${this.path} failed on the real server`);
    }
    expectEqual(text(data.result.data), m.nodes.get(this.path)!.data, `data of ${this.path}`);
    expectEqual(data.result.stat, m.stat(this.path, ids), `stat of ${this.path}`);
    expectEqual(children.result.children, m.children(this.path), `children of ${this.path}`);
  }
  toString = () => `s${this.session} read ${this.path}`;
}

/** Closes a session (its ephemerals go in one zxid) and opens a fresh one in its place. */
class ReopenSessionCommand implements fc.Command<Model, Real> {
  constructor(readonly session: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    m.zxid++;
    const doomed = [...m.nodes].filter(([, node]) => node.owner === this.session).map(([path]) => path);
    for (const path of doomed) {
      m.nodes.delete(path);
      const parent = m.nodes.get(parentOf(path));
      if (parent !== undefined) parent.pzxid = m.zxid;
    }
    const reply = r.h.request(r.sessions[this.session]!, { op: 'closeSession' });
    if (!reply.ok) throw new Error('closeSession failed');
    m.zxid++;
    r.sessions[this.session] = r.h.connect({ timeoutMs: 100_000 });
  }
  toString = () => `reopen s${this.session}`;
}

class AdvanceClockCommand implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    m.now += this.ms;
    r.h.advance(this.ms);
    // Keep both sessions alive: the test is about znodes, not expiry.
    for (const session of r.sessions) r.h.request(session, { op: 'ping' });
  }
  toString = () => `advance ${this.ms}`;
}

const commands = [
  fc.tuple(sessionArb, writeOpArb).map(([s, op]) => new WriteCommand(s, op)),
  fc
    .tuple(sessionArb, fc.array(writeOpArb, { minLength: 1, maxLength: 4 }))
    .map(([s, ops]) => new MultiCommand(s, ops)),
  fc.tuple(sessionArb, pathArb).map(([s, p]) => new ReadCommand(s, p)),
  fc.constantFrom(0, 1).map((s) => new ReopenSessionCommand(s)),
  fc.integer({ min: 1, max: 50 }).map((ms) => new AdvanceClockCommand(ms)),
];

describe('the standalone server (a one-voter peer) against a reference model', () => {
  it('agrees on every result, error code and Stat field', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 80, size: 'large' }), (cmds) => {
        const h = new Harness({ tickTimeMs: 100 });
        const sessions = [h.connect({ timeoutMs: 100_000 }), h.connect({ timeoutMs: 100_000 })];
        const model = new Model(h.nowMs);
        // The zxids so far (the leader's epoch, then two createSessions) are where the model starts.
        model.zxid = h.server.status().lastAppliedZxid;
        fc.modelRun(() => ({ model, real: { h, sessions } }), cmds);
        // Finally, every path's state must agree.
        for (const path of paths) new ReadCommand(0, path).run(model, { h, sessions });
        // And the count mntr reports agrees with the model's owned nodes.
        const owned = [...model.nodes.values()].filter((node) => node.owner >= 0).length;
        expect(h.server.replicaStats().ephemeralCount).toBe(owned);
      }),
      { numRuns: 300 },
    );
  });
});
