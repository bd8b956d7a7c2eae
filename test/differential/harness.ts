/**
 * Differential testing: the same scenario, through the same real client, against Apache
 * ZooKeeper and against zabkit, side by side. Every answer a scenario gets is recorded in a
 * transcript; the transcripts are normalized so that only what legitimately differs between
 * two servers is hidden (zxid values, times, session ids), and a test compares them.
 *
 * Normalization keeps the relations a client can rely on: each distinct zxid becomes a label
 * (z1, z2, ... in order of first appearance), so `mzxid == czxid` after a create, or a
 * parent's pzxid equal to its child's czxid, must hold on both sides; each session id becomes
 * s1, s2, ... in order of connection, so ephemeralOwner still says whose node it is.
 *
 * Usage:
 *
 * ```ts
 * const pair = await DifferentialPair.start({ clients: ['java'] });
 * const { zookeeper, zabkit } = await pair.run('java', async (t) => {
 *   await t.connect('a');
 *   await t.do({ op: 'create', path: '/x', data: 'hi', stat: true });
 * });
 * expect(zabkit).toEqual(zookeeper);
 * ```
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { type Answer, type ClientKind, type Command, Driver } from './drivers.js';
import {
  ConnectionCutter,
  type RunningServer,
  type ServerKind,
  type ServerOptions,
  startBoth,
} from './servers.js';

/**
 * With ZABKIT_DIFFERENTIAL_DUMP=<directory>, every comparison's normalized transcripts are
 * written there as JSON, named after the test, for reading a difference whole.
 */
function dump(client: ClientKind, transcripts: Transcripts): void {
  const directory = process.env.ZABKIT_DIFFERENTIAL_DUMP;
  if (!directory) return;
  const test = expect.getState().currentTestName ?? 'unnamed';
  const name = `${test}-${client}`.replace(/[^\w.-]+/g, '_').slice(0, 150);
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, `${name}.json`), JSON.stringify(transcripts, null, 1));
}

/** One recorded step: the command as sent (minus bulky data) and its answer. */
export interface Step {
  readonly command: Record<string, unknown>;
  readonly answer: Answer;
}

/** What a scenario is handed: one client talking to one of the two servers. */
export interface ScenarioContext {
  readonly server: ServerKind;
  /** Where clients connect: a relay in front of the server, so `cut` can drop them. */
  readonly connectString: string;
  /** Drops every client connection to this server; clients reconnect with their sessions. */
  cut(): void;
  /** Runs a command, records it with its answer, and returns the answer. */
  do(command: Command): Promise<Answer>;
  /** Opens session `session` on this server (the answer carries its session id). */
  connect(session?: string, args?: Record<string, unknown>): Promise<Answer>;
  /** Waits for `count` events of `session` (then a little longer) and records them. */
  events(session?: string, count?: number, args?: Record<string, unknown>): Promise<Answer>;
  /** Records a value the scenario computed itself (it is compared like any answer). */
  note(label: string, value: unknown): void;
}

/** A scenario: the same function runs once against each server. */
export type Scenario = (t: ScenarioContext) => Promise<void>;

/** The normalized transcripts of one scenario, one per server. */
export type Transcripts = Record<ServerKind, Step[]>;

/** Commands whose bulky inputs are summarized in the transcript. */
function recordedCommand(command: Command): Record<string, unknown> {
  const { id: _id, connectString: _connectString, ...rest } = command as Record<string, unknown>;
  if (typeof rest.dataBase64 === 'string' && rest.dataBase64.length > 64)
    rest.dataBase64 = `<${rest.dataBase64.length} base64 chars>`;
  return rest;
}

/**
 * Replaces what two correct servers may legitimately answer differently: zxids by labels in
 * order of appearance, session ids by labels in order of connection, times and client
 * messages by placeholders. Large data is reduced to its length.
 */
export function normalize(steps: readonly Step[]): Step[] {
  const zxids = new Map<string, string>();
  const sessions = new Map<string, string>();
  const zxidLabel = (value: string) => {
    if (value === '0' || value === '-1') return value;
    let label = zxids.get(value);
    if (label === undefined) {
      label = `z${zxids.size + 1}`;
      zxids.set(value, label);
    }
    return label;
  };
  const sessionLabel = (value: string) => {
    if (value === '0') return value;
    let label = sessions.get(value);
    if (label === undefined) {
      label = `s${sessions.size + 1}`;
      sessions.set(value, label);
    }
    return label;
  };
  const visit = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((item) => visit(item));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = visit(v, k);
      return out;
    }
    if (key === undefined) return value;
    if (/zxid$/i.test(key) && typeof value === 'string') return zxidLabel(value);
    if ((key === 'sessionId' || key === 'ephemeralOwner') && typeof value === 'string')
      return sessionLabel(value);
    if (key === 'ctime' || key === 'mtime') return '<time>';
    if (key === 'message') return '<message>';
    if (key === 'data' && typeof value === 'string' && value.length > 96) return `<${value.length} chars>`;
    return value;
  };
  // Sessions are labelled in order of connection first, so ephemeralOwner labels agree.
  for (const step of steps) {
    if (step.command.op === 'connect' && step.answer.ok) {
      const id = (step.answer.result as { sessionId?: string } | null)?.sessionId;
      if (typeof id === 'string') sessionLabel(id);
    }
  }
  return steps.map((step) => {
    const answer = visit({ ...step.answer, id: undefined }) as Answer;
    return { command: step.command, answer: unordered(String(step.command.op), answer) };
  });
}

const byJson = (a: unknown, b: unknown) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);

/**
 * Puts in a canonical order what ZooKeeper hands out in hash order, which no client may rely
 * on: children, a session's ephemerals, whoAmI's identities (a hash set in ZooKeeper's
 * connection), and the Java client's fan-out of one connection state change to every watcher
 * it holds (a hash set too). zabkit's own orders (sorted children, identities in the order
 * they were added) are listed in the README.
 */
function unordered(op: string, answer: Answer): Answer {
  const sortChildren = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortChildren);
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = key === 'children' && Array.isArray(item) ? [...item].sort() : sortChildren(item);
    }
    return out;
  };
  let result = sortChildren(answer.result);
  if ((op === 'getEphemerals' || op === 'whoAmI') && Array.isArray(result)) result = [...result].sort(byJson);
  if (op === 'events' && Array.isArray(result)) result = sortStateFanOut(result);
  return { ...answer, result };
}

/** Sorts each run of consecutive events that report the same connection state (type None). */
function sortStateFanOut(events: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  let run: unknown[] = [];
  let runState: unknown;
  const flush = () => {
    out.push(...run.sort(byJson));
    run = [];
  };
  for (const event of events) {
    const { type, state } = event as { type?: unknown; state?: unknown };
    if (type === 'None' && (run.length === 0 || state === runState)) {
      runState = state;
      run.push(event);
      continue;
    }
    flush();
    if (type === 'None') {
      runState = state;
      run.push(event);
    } else out.push(event);
  }
  flush();
  return out;
}

/** What {@link DifferentialPair.start} takes: the servers' options and the client kinds to drive. */
export type PairOptions = ServerOptions & {
  readonly clients: readonly ClientKind[];
  /** -D flags for the Java client's JVM. */
  readonly clientSystemProperties?: Readonly<Record<string, string>>;
};

/**
 * Starts a pair before the enclosing suite's tests and stops it after them; returns the pair
 * for use inside the tests (calling it outside them, before the pair started, throws).
 */
export function pairForSuite(options: PairOptions | (() => PairOptions)): () => DifferentialPair {
  let pair: DifferentialPair | undefined;
  beforeAll(async () => {
    pair = await DifferentialPair.start(typeof options === 'function' ? options() : options);
  }, 120_000);
  afterAll(async () => {
    await pair?.stop();
  });
  return () => {
    if (pair === undefined) throw new Error('the differential pair has not started (or failed to)');
    return pair;
  };
}

/** Both servers and a driver of each client kind for each of them, shared by a test file. */
export class DifferentialPair {
  private constructor(
    readonly servers: Record<ServerKind, RunningServer>,
    readonly relays: Record<ServerKind, ConnectionCutter>,
    private readonly drivers: Map<string, Driver>,
  ) {}

  /** Starts both servers from `options`, and a driver per client kind per server. */
  static async start(options: PairOptions): Promise<DifferentialPair> {
    return DifferentialPair.around(await startBoth(options), options);
  }

  /**
   * A pair over servers already running (a member of each of two ensembles, say), with a
   * driver per client kind per server; stopping the pair stops them.
   */
  static async around(
    servers: Record<ServerKind, RunningServer>,
    options: {
      readonly clients: readonly ClientKind[];
      readonly clientSystemProperties?: Readonly<Record<string, string>>;
    },
  ): Promise<DifferentialPair> {
    const relays = {
      zookeeper: await ConnectionCutter.start(servers.zookeeper.port),
      zabkit: await ConnectionCutter.start(servers.zabkit.port),
    };
    const drivers = new Map<string, Driver>();
    for (const client of options.clients) {
      for (const server of ['zookeeper', 'zabkit'] as const) {
        drivers.set(`${client}:${server}`, Driver.start(client, options.clientSystemProperties));
      }
    }
    return new DifferentialPair(servers, relays, drivers);
  }

  /** The driver of `client` that talks to `server`. */
  driver(client: ClientKind, server: ServerKind): Driver {
    const driver = this.drivers.get(`${client}:${server}`);
    if (driver === undefined) throw new Error(`no ${client} driver was started`);
    return driver;
  }

  /**
   * Runs `scenario` against both servers at once (each through its own driver) and returns
   * the normalized transcripts. Sessions a scenario leaves open are closed afterwards.
   */
  async run(client: ClientKind, scenario: Scenario): Promise<Transcripts> {
    const [zookeeper, zabkit] = await Promise.all(
      (['zookeeper', 'zabkit'] as const).map((server) => this.runOne(client, server, scenario)),
    );
    const transcripts = { zookeeper: normalize(zookeeper!), zabkit: normalize(zabkit!) };
    dump(client, transcripts);
    return transcripts;
  }

  private async runOne(client: ClientKind, server: ServerKind, scenario: Scenario): Promise<Step[]> {
    const driver = this.driver(client, server);
    const relay = this.relays[server];
    const { connectString } = relay;
    const steps: Step[] = [];
    const opened = new Set<string>();
    const context: ScenarioContext = {
      server,
      connectString,
      cut: () => relay.cut(),
      async do(command) {
        const answer = await driver.send(command);
        steps.push({ command: recordedCommand(command), answer });
        const session = command.session ?? 'a';
        if (command.op === 'close') opened.delete(session);
        else if ((command.op === 'connect' || command.op === 'curatorStart') && answer.ok)
          opened.add(session);
        return answer;
      },
      async connect(session = 'a', args = {}) {
        return context.do({ op: 'connect', session, connectString, ...args });
      },
      events(session = 'a', count = 0, args = {}) {
        return context.do({ op: 'events', session, count, ...args });
      },
      note(label, value) {
        steps.push({ command: { op: 'note', label }, answer: { id: 0, ok: true, result: value } });
      },
    };
    try {
      await scenario(context);
    } finally {
      for (const session of opened) await driver.send({ op: 'close', session });
    }
    return steps;
  }

  /**
   * What a server logged at warn or above (zabkit) or to stderr at all (ZooKeeper), for a
   * failure message: a dropped connection shows here with its reason.
   */
  serverLog(server: ServerKind): string {
    const text = this.servers[server].stderr();
    if (server === 'zookeeper') return text.slice(-4000);
    return text
      .split('\n')
      .filter((line) => /"level":"(warn|error|fatal)"|"level":(40|50|60)/.test(line))
      .slice(-40)
      .join('\n');
  }

  /** Stops the drivers and both servers. */
  async stop(): Promise<void> {
    await Promise.all([...this.drivers.values()].map((driver) => driver.stop()));
    await Promise.all(Object.values(this.relays).map((relay) => relay.stop()));
    await Promise.all(Object.values(this.servers).map((server) => server.stop()));
  }
}

/** A transcript step's answer, for assertions on what ZooKeeper itself said. */
export function answerOf(steps: readonly Step[], index: number): Answer {
  const step = steps[index];
  if (step === undefined) throw new Error(`no step ${index}`);
  return step.answer;
}

/**
 * Every step where the two transcripts differ, one line per server, for a readable failure
 * message; empty when they agree. Steps are compared in order; a missing step counts.
 */
export function differences(transcripts: Transcripts): string[] {
  const { zookeeper, zabkit } = transcripts;
  const lines: string[] = [];
  for (let i = 0; i < Math.max(zookeeper.length, zabkit.length); i++) {
    const expected = JSON.stringify(zookeeper[i]?.answer ?? null);
    const actual = JSON.stringify(zabkit[i]?.answer ?? null);
    if (expected === actual) continue;
    const command = JSON.stringify(zookeeper[i]?.command ?? zabkit[i]?.command);
    lines.push(`step ${i} ${command}\n  zookeeper: ${expected}\n  zabkit:    ${actual}`);
  }
  return lines;
}
