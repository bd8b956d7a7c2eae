import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Envelope,
  type PeerMessage,
  type PeerReady,
  ReadyPipeline,
  type StorageAction,
  type StorageWrite,
} from '../../src/index.js';

// Actions and messages are tokens: an epochs action or a ping whose number names it.
const action = (token: number): StorageAction => ({
  kind: 'epochs',
  epochs: { acceptedEpoch: token, currentEpoch: 0 },
});
const tokenOfAction = (a: StorageAction) => (a.kind === 'epochs' ? a.epochs.acceptedEpoch : -1);
const envelope = (token: number): Envelope => ({
  from: 1,
  to: 2,
  message: { kind: 'ping', epoch: token } as PeerMessage,
});
const tokenOfEnvelope = (e: Envelope) => (e.message as { epoch: number }).epoch;
// The Ready fields the pipeline does not order, empty in every Ready here.
const unordered = { reads: [], events: [], activatedConfig: undefined, closeLinks: [] } as const;

type Command =
  | { kind: 'accept'; persist: number; now: number; after: number }
  | { kind: 'start' }
  | { kind: 'complete' }
  | { kind: 'crash' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('accept' as const),
      persist: fc.integer({ min: 0, max: 2 }),
      now: fc.integer({ min: 0, max: 2 }),
      after: fc.integer({ min: 0, max: 2 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'start' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'complete' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
);

interface AcceptedReady {
  readonly seq: number;
  readonly actions: number[];
  readonly after: number[];
}

/**
 * Drives a pipeline with a command sequence and checks, at every step, what the Ready
 * contract demands. The driver here is the simplest honest one: a write's actions become
 * durable when it completes, and a crash keeps nothing of the write in flight.
 */
function run(commands: readonly Command[], writeReadiesMax: number): void {
  const pipeline = new ReadyPipeline({ writeReadiesMax });
  let token = 0;
  let seq = 0;
  let readies: AcceptedReady[] = [];
  /** Tokens of the actions made durable, in the order they were written. */
  let durable: number[] = [];
  let durableThrough = 0;
  let inFlight: StorageWrite | undefined;
  let pendingAfter = new Map<number, number>(); // message token -> index of its Ready
  const released = new Set<number>();

  const release = (e: Envelope) => {
    const t = tokenOfEnvelope(e);
    expect(released.has(t)).toBe(false);
    released.add(t);
    const index = pendingAfter.get(t);
    if (index === undefined) return; // an immediate message
    pendingAfter.delete(t);
    // Never before every persist up to and including its own Ready's is durable.
    for (const ready of readies.slice(0, index + 1)) {
      if (ready.seq !== 0) expect(ready.seq).toBeLessThanOrEqual(durableThrough);
    }
  };

  for (const command of commands) {
    switch (command.kind) {
      case 'accept': {
        const actions = Array.from({ length: command.persist }, () => ++token);
        const now = Array.from({ length: command.now }, () => ++token);
        const after = Array.from({ length: command.after }, () => ++token);
        const persistSeq = actions.length > 0 ? ++seq : 0;
        const ready: PeerReady = {
          persist: actions.map(action),
          persistSeq,
          messages: now.map(envelope),
          messagesAfterPersist: after.map(envelope),
          toClients: [],
          ...unordered,
        };
        readies.push({ seq: persistSeq, actions, after });
        for (const t of after) pendingAfter.set(t, readies.length - 1);
        const sent = pipeline.accept(ready).map(tokenOfEnvelope);
        // Immediate messages always go at once, in order.
        expect(sent.slice(0, now.length)).toEqual(now);
        for (const t of sent) release(envelope(t));
        break;
      }
      case 'start': {
        const queued = readies.filter((r) => r.seq > durableThrough && r.seq !== 0);
        const write = pipeline.startWrite();
        if (inFlight !== undefined || queued.length === 0) {
          expect(write).toBeUndefined();
          break;
        }
        expect(write).toBeDefined();
        // Group commit: the oldest queued Readies, as many as allowed, as one write.
        const taken = queued.slice(0, writeReadiesMax);
        expect(write!.readies).toBe(taken.length);
        expect(write!.firstSeq).toBe(taken[0]!.seq);
        expect(write!.throughSeq).toBe(taken.at(-1)!.seq);
        expect(write!.actions.map(tokenOfAction)).toEqual(taken.flatMap((r) => r.actions));
        inFlight = write;
        break;
      }
      case 'complete': {
        if (inFlight === undefined) {
          expect(pipeline.writing).toBeUndefined();
          break;
        }
        durable.push(...inFlight.actions.map(tokenOfAction));
        const done = pipeline.completeWrite(inFlight);
        // persistedThrough is monotonic and covers exactly what was written.
        expect(done.persisted.seq).toBeGreaterThan(durableThrough);
        durableThrough = done.persisted.seq;
        expect(pipeline.durableThroughSeq).toBe(durableThrough);
        expect(durable).toEqual(
          readies.filter((r) => r.seq !== 0 && r.seq <= durableThrough).flatMap((r) => r.actions),
        );
        inFlight = undefined;
        for (const e of done.send) release(e);
        break;
      }
      case 'crash': {
        const loss = pipeline.crash();
        const unwritten = readies.filter((r) => r.seq > durableThrough).flatMap((r) => r.actions);
        // A crash discards exactly what was not yet durable, in order.
        expect(loss.inFlight).toBe(inFlight);
        expect([...(loss.inFlight?.actions ?? []), ...loss.unwritten].map(tokenOfAction)).toEqual(unwritten);
        // ...and exactly the messages still waiting.
        expect(new Set(loss.withheld.map(tokenOfEnvelope))).toEqual(new Set(pendingAfter.keys()));
        expect(loss.withheld).toHaveLength(pendingAfter.size);
        expect(pipeline.idle).toBe(true);
        // The peer restarts from what was durable; its Readies count from 1 again.
        readies = [];
        seq = 0;
        durable = [];
        durableThrough = 0;
        inFlight = undefined;
        pendingAfter = new Map();
        break;
      }
    }
    expect(pipeline.idle).toBe(inFlight === undefined && readies.every((r) => r.seq <= durableThrough));
  }

  // Draining the pipeline releases every message that waited.
  for (let i = 0; i < 1000 && !pipeline.idle; i++) {
    const write = pipeline.writing ?? pipeline.startWrite()!;
    durable.push(...write.actions.map(tokenOfAction));
    const done = pipeline.completeWrite(write);
    durableThrough = done.persisted.seq;
    for (const e of done.send) release(e);
  }
  expect(pendingAfter.size).toBe(0);
  expect(durable).toEqual(readies.filter((r) => r.seq !== 0).flatMap((r) => r.actions));
}

describe('ReadyPipeline', () => {
  it('keeps the Ready contract for any sequence of Readies, writes, completions and crashes', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), (commands, max) =>
        run(commands, max),
      ),
      { numRuns: 500 },
    );
  });

  it('holds an after-persist message of an empty Ready behind the write in flight', () => {
    const pipeline = new ReadyPipeline();
    const ready = (persistSeq: number, persist: number[], after: number[]): PeerReady => ({
      persist: persist.map(action),
      persistSeq,
      messages: [],
      messagesAfterPersist: after.map(envelope),
      toClients: [],
      ...unordered,
    });
    expect(pipeline.accept(ready(1, [10], [])).length).toBe(0);
    const write = pipeline.startWrite()!;
    // Nothing to persist, but the write in flight is not durable yet: the ack waits.
    expect(pipeline.accept(ready(0, [], [20]))).toEqual([]);
    expect(pipeline.completeWrite(write).send.map(tokenOfEnvelope)).toEqual([20]);
    // Now nothing is outstanding: an empty Ready's after-persist messages go at once.
    expect(pipeline.accept(ready(0, [], [30])).map(tokenOfEnvelope)).toEqual([30]);
  });

  it('merges the Readies queued behind a write into the next one (group commit)', () => {
    const pipeline = new ReadyPipeline({ writeReadiesMax: 3 });
    const ready = (persistSeq: number): PeerReady => ({
      persist: [action(persistSeq)],
      persistSeq,
      messages: [],
      messagesAfterPersist: [envelope(persistSeq)],
      toClients: [],
      ...unordered,
    });
    pipeline.accept(ready(1));
    const first = pipeline.startWrite()!;
    for (let seq = 2; seq <= 6; seq++) pipeline.accept(ready(seq));
    expect(pipeline.startWrite()).toBeUndefined();
    expect(pipeline.completeWrite(first).persisted).toEqual({ kind: 'persistedThrough', seq: 1 });
    const second = pipeline.startWrite()!;
    expect(second.actions.map(tokenOfAction)).toEqual([2, 3, 4]);
    const done = pipeline.completeWrite(second);
    expect(done.persisted.seq).toBe(4);
    expect(done.send.map(tokenOfEnvelope)).toEqual([2, 3, 4]);
    expect(pipeline.startWrite()!.throughSeq).toBe(6);
  });

  it('refuses a Ready that breaks the contract', () => {
    const pipeline = new ReadyPipeline();
    const bad: PeerReady = {
      persist: [action(1)],
      persistSeq: 0,
      messages: [],
      messagesAfterPersist: [],
      toClients: [],
      ...unordered,
    };
    expect(() => pipeline.accept(bad)).toThrow(/persistSeq/);
    pipeline.accept({ ...bad, persistSeq: 2 });
    expect(() => pipeline.accept({ ...bad, persistSeq: 2 })).toThrow(/increases/);
    const write = pipeline.startWrite()!;
    expect(() => pipeline.completeWrite({ ...write })).toThrow(/in flight/);
    expect(() => new ReadyPipeline({ writeReadiesMax: 0 })).toThrow(RangeError);
  });
});
