/**
 * Golden transcripts, in the manner of etcd-io/raft's datadriven interaction tests: a file of
 * commands over the scripted cluster (cluster.ts), each followed by `----` and the output it
 * must print. The runner prints every Ready a peer returns (what it persists, applies, sends
 * at once, holds until durable, and what its clients hear), every message delivered or lost
 * and every write made durable with what it released, so a changed interleaving shows as a
 * changed line. Outputs have no blank lines: a blank line ends one.
 *
 *     # comments and blank lines between commands are kept as they are
 *     deliver to=1 kind=proposal
 *     ----
 *     3->1 proposal e1 [1.2 s1#1 create /w]
 *     > 1 ready
 *       persist #5 append [1.2 s1#1 create /w]
 *       hold 1->3 ack e1 1.2 (until durable)
 *
 *     persist 1
 *     ----
 *     > 1 durable #5
 *       release 1->3 ack e1 1.2
 *
 * Commands (ids are server ids, `c1`... are client connections named by the transcript):
 *
 * - `cluster voters=N [observers=N] [autopersist=on|off] [batch=N] [snapCount=N]
 *   [zxidCounterLimit=N] [secrets=own] [quiet]`: a new ensemble; every peer starts and steps.
 *   `batch` is how many Readies one storage write may take (default 1: a write per Ready).
 *   `unsafe=send-before-durable` breaks the driver on purpose, for the test of the checks.
 * - `tick MS`: the clock moves MS virtual milliseconds; every peer steps a tick.
 * - `deliver [from=ID] [to=ID] [kind=K,K] [nth=N] [rounds=N]`: delivers the queued messages
 *   that match, once each (what they cause waits for the next round); `nth` takes only the
 *   Nth match, so messages can be delivered out of their send order.
 * - `drop [from=] [to=] [kind=] [nth=]`: the matching queued messages are lost.
 * - `redeliver [from=] [to=] [kind=]`: the last delivered matching message arrives again.
 * - `break A B`: the link between A and B breaks: its queued messages are lost and both ends
 *   step `linkDown` (what a TCP transport reports after a loss).
 * - `persist ID... [writes=N]`: storage completes that peer's pending writes (or the next
 *   N), each made durable and reported with `persistedThrough`.
 * - `autopersist on|off`: whether writes become durable as soon as they are asked for.
 * - `stabilize [quiet]`: delivers and persists until nothing is queued or pending (no time
 *   passes).
 * - `settle [quiet] [maxMs=N]`: stabilize, and tick 20 ms at a time until every live peer
 *   serves; prints how long it took and every status.
 * - `run MS [step=N] [ping=CLIENT,...] [quiet]`: tick `step` ms (default 20) and stabilize,
 *   for MS ms; the named clients ping once a step, as a live client's heartbeat does.
 * - `pause ID`, `resume ID [inputs-first]`: the process stops (SIGSTOP): its timers stop
 *   while the others' run, what reaches it (messages, client requests, completed writes)
 *   waits, and on resuming it ticks first with its clock moved on, then takes what waited, in
 *   order (`inputs-first`: what waited first, then the tick).
 * - `leave ID`: the peer steps `leave` (its host shuts down gracefully; a leader hands over).
 * - `transfer ID [to=ID] [within=MS]`: the peer steps `transferLeadership` (to server `to`, or
 *   any synced voter; within MS, default 5000): a leader hands over, a learner asks its leader.
 * - `crash ID`, `restart ID` (from what its storage kept), `isolate ID`,
 *   `partition 1,2 3,4,5`, `heal`, `tamper ID acceptedEpoch=N` (edits a down peer's storage).
 * - `connect CLIENT SERVER [timeout=MS] [resume=CLIENT] [password=bad] [lastZxid=E.C]`.
 * - Client requests: `create CLIENT PATH [data=S] [mode=ephemeral|sequential|container]`,
 *   `setData CLIENT PATH data=S [version=N]`, `getData|exists|getChildren CLIENT PATH
 *   [watch]`, `delete CLIENT PATH [version=N]`, `sync CLIENT [PATH]`, `getEphemerals CLIENT`,
 *   `ping CLIENT`, `closeSession CLIENT`, `disconnect CLIENT`, `auth CLIENT user:password`,
 *   `reconfig CLIENT [add=ID:ROLE,...] [leave=ID,...] [members=ID:ROLE,...] [from=N]` (with
 *   `cluster ... reconfig=on`: every server a member at 127.0.0.1, the super user's password
 *   `pw`, reconfig enabled).
 * - `status [ID...]`, `storage ID` (what survives a crash), `queue`, `digests` (a check too:
 *   every live replica that applied the same zxid has the same tree).
 * - `repeat N COMMAND`: COMMAND N times, with `{i}` in it counting from 0.
 *
 * Checks state what a transcript is about, so that a rewritten transcript still fails when
 * the property breaks (a changed line can be misread; a failed check cannot). Each prints
 * `ok: ...` or `CHECK FAILED: ...`, and the test fails on any `CHECK FAILED` line (or
 * `error:` line) whatever the expected output says, rewriting included:
 *
 * - `check converged`: every live replica has applied the same zxid and holds the same tree.
 * - `check reply CLIENT xid=N none|ok|CODE [has=TEXT]`: what the client heard for xid N:
 *   nothing yet, success, or the error named (NoNode, ...); `has` must be in the reply line.
 * - `check connected CLIENT refused|[timeout=MS] [session-of=OTHER]`: how its connect was
 *   answered: refused, or a session (OTHER's, when a session moved) with that timeout.
 * - `check heard CLIENT TEXT`: some line the client heard (a reply, a watch event, ...)
 *   contains TEXT (quote it: `"watch NodeDeleted /lock"`).
 * - `check closed CLIENT REASON`: the client's connection was closed for REASON.
 * - `check znode PATH present|absent [on=ID,...]`: in the tree of every live peer (or those).
 * - `check log ID has|lacks PATH [count=N]`: whether the peer's durable log holds a change
 *   to PATH (exactly N of them).
 * - `check config ID voters=ID,... [observers=ID,...] [version=E.C]`: the configuration in
 *   force on ID, no change pending.
 * - `check status ID [role=R] [serving=yes|no] [leader=ID] [acceptedEpoch=N] [currentEpoch=N]
 *   [currentEpoch>=N] [looking~TEXT]`.
 * - `check syncs ID MODE,... [txns>=N]`: the learner syncs (diff, trunc, snap) ID received,
 *   in order, the last carrying at least N entries.
 * - `check votes-agree`: every live peer reports the same leader and epoch in its vote, the
 *   epoch the leader leads.
 *
 * One check is always on: a message that promises something durable (ACKEPOCH: the accepted
 * epoch; ACKNEWLEADER: the current epoch and the history NEWLEADER named; ACK: the entry)
 * must find it in its sender's storage when it leaves, or the runner prints CHECK FAILED.
 * Another: each peer applies every transaction once and in zxid order. A third is ZAB's
 * Leadership: NEWLEADER of an epoch comes from one server only (a leader sends it once a
 * quorum promised it the epoch).
 *
 * `quiet` prints a count of what was delivered and made durable instead of each step, but
 * still every client output: for prologues such as an election that a transcript is not about.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import {
  type ClientOutput,
  type ClientRequest,
  type CrashLoss,
  CreateMode,
  type CreateModeValue,
  digestOf,
  type EnsembleMember,
  type Envelope,
  formatEnsembleMember,
  Ids,
  makeZxid,
  type PeerReady,
  type StorageWrite,
  type Txn,
  type Zxid,
  zeroZxid,
} from '../../src/index.js';
import { Cluster } from '../zab/cluster.js';
import { Printer } from './printer.js';

/** One command of a transcript and the output it expects. */
interface Directive {
  readonly line: number;
  readonly command: string;
  readonly expected: string;
}

type Segment =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'directive'; readonly directive: Directive };

/** Splits a transcript into the text between commands (kept) and the commands with their outputs. */
export function parseTranscript(text: string): Segment[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const segments: Segment[] = [];
  for (let i = 0; i < lines.length; ) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      segments.push({ kind: 'text', text: line });
      i++;
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`line ${i + 1}: a command is followed by a line "----"`);
    const output: string[] = [];
    let j = i + 2;
    while (j < lines.length && lines[j] !== '') output.push(lines[j++]!);
    segments.push({
      kind: 'directive',
      directive: { line: i + 1, command: line, expected: output.join('\n') },
    });
    i = j;
  }
  return segments;
}

/** What running a transcript gave: each command's output, and the file as it would be rewritten. */
export interface TranscriptResult {
  readonly outputs: { readonly directive: Directive; readonly actual: string }[];
  readonly rewritten: string;
}

/** Runs every command of a transcript on a fresh environment. */
export function runTranscript(text: string): TranscriptResult {
  const segments = parseTranscript(text);
  const env = new TranscriptEnv();
  const outputs: TranscriptResult['outputs'] = [];
  const lines: string[] = [];
  for (const segment of segments) {
    if (segment.kind === 'text') {
      lines.push(segment.text);
      continue;
    }
    const { directive } = segment;
    let actual: string;
    try {
      actual = env.execute(directive.command);
    } catch (error) {
      actual = `error: ${error instanceof Error ? error.message : String(error)}`;
    }
    outputs.push({ directive, actual });
    lines.push(directive.command, '----');
    if (actual !== '') lines.push(actual);
  }
  return { outputs, rewritten: `${lines.join('\n')}\n` };
}

/** Runs the transcript in `path`; rewrites the file with the actual output when `rewrite`. */
export function runTranscriptFile(path: string, rewrite: boolean): TranscriptResult {
  const result = runTranscript(readFileSync(path, 'utf8'));
  if (rewrite) writeFileSync(path, result.rewritten);
  return result;
}

// ---- the environment ------------------------------------------------------------------------

interface Args {
  readonly positional: string[];
  readonly named: Map<string, string>;
}

function tokenize(command: string): string[] {
  const tokens: string[] = [];
  const pattern = /(\S+?=)?"((?:[^"\\]|\\.)*)"|\S+/g;
  for (const match of command.matchAll(pattern)) {
    if (match[2] !== undefined) tokens.push(`${match[1] ?? ''}${JSON.parse(`"${match[2]}"`)}`);
    else tokens.push(match[0]);
  }
  return tokens;
}

function parseArgs(tokens: readonly string[]): Args {
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq > 0) named.set(token.slice(0, eq), token.slice(eq + 1));
    else positional.push(token);
  }
  return { positional, named };
}

interface Client {
  readonly name: string;
  readonly server: number;
  readonly connectionId: number;
  nextXid: number;
  sessionId: bigint;
  password: Uint8Array;
}

interface Filter {
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly kinds?: ReadonlySet<string> | undefined;
}

const encoder = new TextEncoder();
const modes: Record<string, CreateModeValue> = {
  persistent: CreateMode.Persistent,
  ephemeral: CreateMode.Ephemeral,
  sequential: CreateMode.PersistentSequential,
  ephemeralSequential: CreateMode.EphemeralSequential,
  container: CreateMode.Container,
};

/** The ensemble a transcript drives, and what it prints. */
class TranscriptEnv {
  private cluster: Cluster | undefined;
  private readonly printer = new Printer();
  private readonly clients = new Map<string, Client>();
  private readonly clientOfConnection = new Map<number, Client>();
  private nextConnectionId = 1;
  private startMs = 0;
  private out: string[] = [];
  /** Transactions applied during the step whose Ready comes next. */
  private appliedNow: { id: number; txn: Txn }[] = [];
  /** What each client heard, as printed, by client name then xid. */
  private readonly heard = new Map<string, Map<number, string>>();
  /** Every line each client heard, as printed. */
  private readonly heardLines = new Map<string, string[]>();
  /** The last zxid each live peer applied: the standing check that it applies in order. */
  private readonly appliedThrough = new Map<number, Zxid>();
  /** What each client's connect was answered with: its session and timeout (0: refused). */
  private readonly connectedAs = new Map<string, { sessionId: bigint; timeoutMs: number }>();
  /** Why each client's connection was closed, in order. */
  private readonly closes = new Map<string, string[]>();
  /** The learner syncs each peer received, in order: `diff 3` is a DIFF of 3 entries. */
  private readonly syncsTo = new Map<number, { mode: string; txns: number }[]>();
  /** The last zxid each peer's NEWLEADER named: what its ACKNEWLEADER promises to hold. */
  private readonly newLeaderLast = new Map<number, Zxid>();
  /** Who sent NEWLEADER in each epoch: the standing Leadership check. */
  private readonly leaderOfEpoch = new Map<number, number>();
  /** In quiet commands: what happened, counted instead of printed. */
  private quiet: { delivered: Map<string, number>; durable: number; lost: number } | undefined;

  execute(command: string): string {
    this.out = [];
    const [verb, ...rest] = tokenize(command);
    if (verb === undefined) throw new Error('empty command');
    if (verb === 'repeat') {
      // `repeat N COMMAND`: COMMAND N times, `{i}` in it counting from 0.
      const [count, ...body] = rest;
      for (let i = 0; i < this.int(count, 'repeat N'); i++) {
        const [innerVerb, ...innerRest] = body.map((token) => token.replaceAll('{i}', String(i)));
        if (innerVerb === undefined || innerVerb === 'repeat') throw new Error('repeat: name one command');
        this.dispatch(innerVerb, parseArgs(innerRest));
      }
    } else {
      this.dispatch(verb, parseArgs(rest));
    }
    for (const line of this.out) if (line.trim() === '') throw new Error('the printer made an empty line');
    return this.out.join('\n');
  }

  private get c(): Cluster {
    if (this.cluster === undefined) throw new Error('no cluster yet: start with `cluster voters=N`');
    return this.cluster;
  }

  private dispatch(verb: string, args: Args): void {
    switch (verb) {
      case 'cluster':
        this.quietly(args, () => this.makeCluster(args));
        return;
      case 'tick':
        this.c.tick(this.int(args.positional[0], 'tick MS'));
        return;
      case 'deliver':
        this.deliver(args);
        return;
      case 'drop':
        this.drop(args);
        return;
      case 'redeliver':
        this.redeliver(args);
        return;
      case 'break':
        this.breakLink(this.id(args.positional[0]), this.id(args.positional[1]));
        return;
      case 'persist':
        this.persist(args);
        return;
      case 'autopersist':
        this.c.autoPersist = this.onOff(args.positional[0]);
        if (this.c.autoPersist) for (const id of this.c.nodes.keys()) this.c.flushStorage(id);
        return;
      case 'stabilize':
        this.quietly(args, () => this.stabilize());
        return;
      case 'settle':
        this.settle(args);
        return;
      case 'run':
        this.run(args);
        return;
      case 'leave':
        this.c.step(this.id(args.positional[0]), { kind: 'leave' });
        return;
      case 'transfer': {
        const to = args.named.get('to');
        const within = args.named.get('within');
        this.c.step(this.id(args.positional[0]), {
          kind: 'transferLeadership',
          ...(to === undefined ? {} : { to: this.id(to) }),
          timeoutMs: within === undefined ? 5000 : this.int(within, 'within=MS'),
        });
        return;
      }
      case 'crash':
        this.c.crash(this.id(args.positional[0]));
        return;
      case 'restart':
        this.c.restart(this.id(args.positional[0]));
        return;
      case 'pause': {
        const id = this.id(args.positional[0]);
        this.c.pause(id);
        this.out.push(`${id} paused`);
        return;
      }
      case 'resume': {
        const id = this.id(args.positional[0]);
        const inputsFirst = args.positional.includes('inputs-first');
        this.out.push(`${id} resumes${inputsFirst ? ', taking what waited before its timers' : ''}`);
        this.c.resume(id, inputsFirst);
        if (this.c.autoPersist) this.c.flushStorage(id);
        return;
      }
      case 'isolate':
        this.c.isolate(this.id(args.positional[0]));
        this.out.push(`cut: ${[...this.c.cut].join(' ')}`);
        return;
      case 'partition':
        this.partition(args);
        return;
      case 'heal':
        this.c.heal();
        this.out.push('every link restored');
        return;
      case 'tamper':
        this.tamper(args);
        return;
      case 'connect':
        this.connect(args);
        return;
      case 'disconnect': {
        const client = this.client(args.positional[0]);
        this.c.step(client.server, { kind: 'disconnect', connectionId: client.connectionId });
        return;
      }
      case 'status':
        this.status(args);
        return;
      case 'storage':
        this.storage(this.id(args.positional[0]));
        return;
      case 'queue':
        for (const envelope of this.c.queue) this.out.push(this.printer.envelope(envelope));
        if (this.c.queue.length === 0) this.out.push('(nothing queued)');
        return;
      case 'digests':
        this.digests();
        return;
      case 'check':
        this.check(args);
        return;
      default:
        this.request(verb, args);
        return;
    }
  }

  // ---- printing what the cluster does --------------------------------------------------------

  private makeCluster(args: Args): void {
    const voters = this.int(args.named.get('voters'), 'voters=N');
    const peer: Record<string, number> = {};
    for (const key of ['snapCount', 'zxidCounterLimit', 'initLimitTicks', 'syncLimitTicks'])
      if (args.named.has(key)) peer[key] = this.int(args.named.get(key), key);
    const observers = args.named.has('observers') ? this.int(args.named.get('observers'), 'observers') : 0;
    const reconfig =
      args.named.get('reconfig') === 'on'
        ? {
            reconfigEnabled: true,
            superDigest: digestOf('super', 'pw'),
            ensembleConfig: {
              members: Array.from({ length: voters + observers }, (_v, i) =>
                goldenMember(i + 1, i < voters ? 'participant' : 'observer'),
              ),
              version: zeroZxid,
            },
          }
        : {};
    this.cluster = new Cluster({
      voters,
      observers,
      peer: { ...peer, ...reconfig },
      autoPersist: args.named.has('autopersist') ? this.onOff(args.named.get('autopersist')) : true,
      writeReadiesMax: args.named.has('batch') ? this.int(args.named.get('batch'), 'batch') : 1,
      unsafeSendBeforeDurable: args.named.get('unsafe') === 'send-before-durable',
      ...(args.named.get('secrets') === 'own'
        ? { sessionSecretOf: (id: number) => new Uint8Array(32).fill(id) }
        : {}),
      observer: {
        ready: (id, ready, sentNow) => this.printReady(id, ready, sentNow),
        durable: (id, write, released) => this.printDurable(id, write, released),
        delivered: (envelope, outcome) => this.printDelivered(envelope, outcome),
        crashed: (id, loss, dropped) => this.printCrash(id, loss, dropped),
        applied: (id, txn) => this.noteApplied(id, txn),
      },
    });
    this.startMs = this.cluster.nowMs;
  }

  private printReady(id: number, ready: PeerReady, sentNow: readonly Envelope[]): void {
    for (const output of ready.toClients) this.noteClientOutput(output);
    for (const envelope of sentNow) {
      this.checkPromise(envelope);
      this.checkLeadership(envelope);
    }
    const applied = this.appliedNow.filter((entry) => entry.id === id).map((entry) => entry.txn);
    this.appliedNow = this.appliedNow.filter((entry) => entry.id !== id);
    if (this.quiet !== undefined) {
      for (const output of ready.toClients) this.out.push(this.clientLine(output));
      return;
    }
    const lines: string[] = [];
    for (const action of ready.persist)
      lines.push(`persist #${ready.persistSeq} ${this.printer.action(action)}`);
    for (const txn of applied) lines.push(`apply ${this.printer.txn(txn)}`);
    for (const envelope of ready.messages) lines.push(`send ${this.printer.envelope(envelope)}`);
    const heldAtOnce = sentNow.length > ready.messages.length;
    for (const envelope of ready.messagesAfterPersist)
      lines.push(
        heldAtOnce
          ? `send ${this.printer.envelope(envelope)} (after persist: nothing pending)`
          : `hold ${this.printer.envelope(envelope)} (until durable)`,
      );
    for (const output of ready.toClients) lines.push(this.clientLine(output));
    for (const read of ready.reads) lines.push(this.printer.read(read));
    for (const event of ready.events)
      lines.push(
        event.kind === 'learnerDropped' ? this.printer.learnerDropped(event) : this.printer.event(event),
      );
    for (const closure of ready.closeLinks) lines.push(`close link ${id}-${closure.peer}: ${closure.reason}`);
    if (lines.length === 0) return;
    this.out.push(`> ${id} ready`, ...lines.map((line) => `  ${line}`));
  }

  /** Standing check: a peer applies each transaction once, in zxid order. */
  private noteApplied(id: number, txn: Txn): void {
    const last = this.appliedThrough.get(id);
    if (last !== undefined && txn.zxid <= last)
      this.out.push(
        `CHECK FAILED: ${id} applied ${this.printer.zxid(txn.zxid)} after ${this.printer.zxid(last)} (out of order or twice)`,
      );
    this.appliedThrough.set(id, txn.zxid);
    this.appliedNow.push({ id, txn });
  }

  private printDurable(id: number, write: StorageWrite, released: readonly Envelope[]): void {
    for (const envelope of released) this.checkLeadership(envelope);
    if (this.quiet !== undefined) {
      this.quiet.durable++;
      return;
    }
    for (const envelope of released) this.checkPromise(envelope);
    const seqs =
      write.firstSeq === write.throughSeq ? `#${write.firstSeq}` : `#${write.firstSeq}..#${write.throughSeq}`;
    this.out.push(`> ${id} durable ${seqs}`);
    for (const envelope of released) this.out.push(`  release ${this.printer.envelope(envelope)}`);
  }

  private printDelivered(envelope: Envelope, outcome: 'delivered' | 'cut' | 'down'): void {
    if (outcome === 'delivered' && envelope.message.kind === 'newLeader')
      this.newLeaderLast.set(envelope.to, envelope.message.lastZxid);
    if (outcome === 'delivered' && envelope.message.kind === 'syncBegin') {
      const syncs = this.syncsTo.get(envelope.to) ?? [];
      syncs.push({ mode: envelope.message.mode, txns: 0 });
      this.syncsTo.set(envelope.to, syncs);
    }
    // A sync's transactions stream after its SYNCBEGIN: they count toward the last sync.
    const last = this.syncsTo.get(envelope.to)?.at(-1);
    if (outcome === 'delivered' && envelope.message.kind === 'syncTxns' && last !== undefined)
      last.txns += envelope.message.txns.length;
    if (this.quiet !== undefined) {
      if (outcome === 'delivered') {
        const kind = envelope.message.kind;
        this.quiet.delivered.set(kind, (this.quiet.delivered.get(kind) ?? 0) + 1);
      } else {
        this.quiet.lost++;
      }
      return;
    }
    const why =
      outcome === 'cut' ? ' (lost: link cut)' : outcome === 'down' ? ` (lost: ${envelope.to} is down)` : '';
    this.out.push(`${this.printer.envelope(envelope)}${why}`);
  }

  private printCrash(id: number, loss: CrashLoss, dropped: readonly Envelope[]): void {
    // A restarted peer applies again from what its storage kept.
    this.appliedThrough.delete(id);
    this.out.push(`> ${id} crashed`);
    for (const action of loss.unwritten) this.out.push(`  lost write ${this.printer.action(action)}`);
    for (const envelope of loss.withheld) this.out.push(`  never sent ${this.printer.envelope(envelope)}`);
    for (const envelope of dropped) this.out.push(`  lost in flight ${this.printer.envelope(envelope)}`);
    for (const client of this.clients.values())
      if (client.server === id) this.clientOfConnection.delete(client.connectionId);
  }

  private clientLine(output: ClientOutput): string {
    const client = this.clientOfConnection.get(output.connectionId);
    return this.printer.output(output, client?.name ?? `conn${output.connectionId}`);
  }

  private noteClientOutput(output: ClientOutput): void {
    const client = this.clientOfConnection.get(output.connectionId);
    if (client === undefined) return;
    this.heardLines.set(client.name, [...(this.heardLines.get(client.name) ?? []), this.clientLine(output)]);
    if (output.kind === 'reply') {
      const heard = this.heard.get(client.name) ?? new Map<number, string>();
      heard.set(output.xid, this.clientLine(output));
      this.heard.set(client.name, heard);
    }
    if (output.kind === 'connected')
      this.connectedAs.set(client.name, { sessionId: output.sessionId, timeoutMs: output.timeoutMs });
    if (output.kind === 'close')
      this.closes.set(client.name, [...(this.closes.get(client.name) ?? []), output.reason]);
    if (output.kind !== 'connected' || output.timeoutMs === 0) return;
    client.sessionId = output.sessionId;
    client.password = output.password;
  }

  private quietly(args: Args, body: () => void): void {
    if (!args.positional.includes('quiet')) {
      body();
      return;
    }
    this.quiet = { delivered: new Map(), durable: 0, lost: 0 };
    const counts = this.quiet;
    try {
      body();
    } finally {
      this.quiet = undefined;
    }
    const kinds = [...counts.delivered].sort(([a], [b]) => (a < b ? -1 : 1));
    const total = kinds.reduce((sum, [, n]) => sum + n, 0);
    this.out.push(
      `(quiet: ${total} delivered${kinds.length === 0 ? '' : ` (${kinds.map(([kind, n]) => `${kind} ${n}`).join(', ')})`}` +
        `, ${counts.lost} lost, ${counts.durable} writes durable)`,
    );
  }

  // ---- commands -----------------------------------------------------------------------------

  private filter(args: Args): Filter {
    return {
      from: args.named.has('from') ? this.id(args.named.get('from')) : undefined,
      to: args.named.has('to') ? this.id(args.named.get('to')) : undefined,
      kinds: args.named.has('kind') ? new Set(args.named.get('kind')!.split(',')) : undefined,
    };
  }

  private matches(filter: Filter, envelope: Envelope): boolean {
    return (
      (filter.from === undefined || envelope.from === filter.from) &&
      (filter.to === undefined || envelope.to === filter.to) &&
      (filter.kinds === undefined || filter.kinds.has(envelope.message.kind))
    );
  }

  /** A filter that takes only the nth match, when `nth` is given. */
  private selector(args: Args): (envelope: Envelope) => boolean {
    const filter = this.filter(args);
    const nth = args.named.has('nth') ? this.int(args.named.get('nth'), 'nth') : undefined;
    let seen = 0;
    return (envelope) => this.matches(filter, envelope) && (nth === undefined || ++seen === nth);
  }

  private deliver(args: Args): void {
    const rounds = args.named.has('rounds') ? this.int(args.named.get('rounds'), 'rounds') : 1;
    let matched = 0;
    for (let round = 0; round < rounds; round++) {
      const select = this.selector(args);
      const before = matched;
      this.c.deliverOnce((envelope) => select(envelope) && ++matched > 0);
      if (matched === before) break;
    }
    if (matched === 0) this.out.push('(nothing to deliver)');
  }

  private drop(args: Args): void {
    const select = this.selector(args);
    const kept: Envelope[] = [];
    for (const envelope of this.c.queue) {
      if (select(envelope)) this.out.push(`dropped ${this.printer.envelope(envelope)}`);
      else kept.push(envelope);
    }
    if (kept.length === this.c.queue.length) this.out.push('(nothing to drop)');
    this.c.queue = kept;
  }

  private redeliver(args: Args): void {
    const filter = this.filter(args);
    const envelope = this.c.trace.findLast((candidate) => this.matches(filter, candidate));
    if (envelope === undefined) throw new Error('no delivered message matches');
    this.out.push(`${this.printer.envelope(envelope)} (again)`);
    this.c.step(envelope.to, { kind: 'message', from: envelope.from, message: envelope.message });
  }

  private breakLink(a: number, b: number): void {
    const between = (envelope: Envelope) =>
      (envelope.from === a && envelope.to === b) || (envelope.from === b && envelope.to === a);
    for (const envelope of this.c.queue.filter(between))
      this.out.push(`lost ${this.printer.envelope(envelope)}`);
    this.c.queue = this.c.queue.filter((envelope) => !between(envelope));
    this.out.push(`link ${a}<->${b} broken`);
    this.c.step(a, { kind: 'linkDown', peer: b });
    this.c.step(b, { kind: 'linkDown', peer: a });
  }

  private persist(args: Args): void {
    const writes = args.named.has('writes')
      ? this.int(args.named.get('writes'), 'writes')
      : Number.POSITIVE_INFINITY;
    for (const token of args.positional) {
      const id = this.id(token);
      if (!this.c.storagePending(id)) {
        this.out.push(`(${id}: nothing to persist)`);
        continue;
      }
      this.c.flushStorage(id, writes);
    }
  }

  /** Delivers and persists until nothing moves; false when it would not stop. */
  private stabilize(): void {
    for (let round = 0; round < 1000; round++) {
      const pending = [...this.c.nodes.keys()].filter(
        (id) => this.c.alive(id) && !this.c.paused(id) && this.c.storagePending(id),
      );
      if (this.c.queue.length === 0 && pending.length === 0) return;
      this.c.deliverOnce();
      for (const id of pending) this.c.flushStorage(id);
    }
    throw new Error('stabilize: still moving after 1000 rounds');
  }

  private settle(args: Args): void {
    const maxMs = args.named.has('maxMs') ? this.int(args.named.get('maxMs'), 'maxMs') : 5000;
    const started = this.c.nowMs;
    this.quietly(args, () => {
      for (;;) {
        this.stabilize();
        if (this.everyoneServing()) return;
        if (this.c.nowMs - started >= maxMs) return;
        this.c.tick(20);
      }
    });
    const served = this.everyoneServing() ? 'every live peer serves' : 'NOT every live peer serves';
    this.out.push(`${served} after ${this.c.nowMs - started}ms`);
    this.printStatus([...this.c.nodes.keys()]);
  }

  private everyoneServing(): boolean {
    for (const id of this.c.nodes.keys())
      if (this.c.alive(id) && !this.c.paused(id) && !this.c.peer(id).status().serving) return false;
    return true;
  }

  private run(args: Args): void {
    const ms = this.int(args.positional[0], 'run MS');
    const step = args.named.has('step') ? this.int(args.named.get('step'), 'step') : 20;
    const pinging = (args.named.get('ping')?.split(',') ?? []).map((name) => this.client(name));
    this.quietly(args, () => {
      for (let elapsed = 0; elapsed < ms; elapsed += step) {
        this.c.tick(step);
        // A live client's heartbeat: one ping per step, answered within it.
        for (const client of pinging) this.send(client, { op: 'ping' });
        this.stabilize();
      }
    });
  }

  private partition(args: Args): void {
    const groups = args.positional.map((group) => group.split(',').map((id) => this.id(id)));
    for (const a of groups)
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.c.cut.add(`${x}->${y}`);
      }
    this.out.push(`partitioned: ${groups.map((group) => group.join(',')).join(' | ')}`);
  }

  private tamper(args: Args): void {
    const id = this.id(args.positional[0]);
    if (this.c.alive(id)) throw new Error(`tamper: server ${id} is running; crash it first`);
    const durable = this.c.nodes.get(id)!.durable;
    const accepted = args.named.get('acceptedEpoch');
    if (accepted !== undefined)
      durable.epochs = { ...durable.epochs, acceptedEpoch: this.int(accepted, 'acceptedEpoch') };
    this.out.push(
      `${id} storage: epochs accepted=e${durable.epochs.acceptedEpoch} current=e${durable.epochs.currentEpoch}`,
    );
  }

  private connect(args: Args): void {
    const [name, serverToken] = args.positional;
    if (name === undefined || this.clients.has(name)) throw new Error(`connect: name a new client (${name})`);
    const server = this.id(serverToken);
    const resumed = args.named.has('resume') ? this.client(args.named.get('resume')) : undefined;
    const client: Client = {
      name,
      server,
      connectionId: this.nextConnectionId++,
      nextXid: 1,
      sessionId: 0n,
      password: new Uint8Array(16),
    };
    this.clients.set(name, client);
    this.clientOfConnection.set(client.connectionId, client);
    const password =
      args.named.get('password') === 'bad' ? new Uint8Array(16) : (resumed?.password ?? new Uint8Array(16));
    this.c.step(server, {
      kind: 'connect',
      connectionId: client.connectionId,
      request: {
        sessionId: resumed?.sessionId ?? 0n,
        password,
        timeoutMs: args.named.has('timeout') ? this.int(args.named.get('timeout'), 'timeout') : 5000,
        lastZxidSeen: args.named.has('lastZxid') ? this.zxid(args.named.get('lastZxid')!) : zeroZxid,
        readOnly: false,
        clientAddress: '127.0.0.1',
      },
    });
  }

  private request(op: string, args: Args): void {
    const [name, path] = args.positional;
    const client = this.client(name);
    const watch = args.positional.includes('watch');
    const data = encoder.encode(args.named.get('data') ?? '');
    const version = args.named.has('version') ? Number(args.named.get('version')) : -1;
    const need = (): string => {
      if (path === undefined || !path.startsWith('/')) throw new Error(`${op}: a path is needed`);
      return path;
    };
    let request: ClientRequest;
    switch (op) {
      case 'create': {
        const mode = modes[args.named.get('mode') ?? 'persistent'];
        if (mode === undefined) throw new Error(`create: unknown mode ${args.named.get('mode')}`);
        request = { op, path: need(), data, acl: Ids.openAclUnsafe, mode, ttlMs: -1n };
        break;
      }
      case 'setData':
        request = { op, path: need(), data, version };
        break;
      case 'delete':
        request = { op, path: need(), version };
        break;
      case 'getData':
      case 'exists':
      case 'getChildren':
        request = { op, path: need(), watch };
        break;
      case 'sync':
        request = { op, path: path ?? '/' };
        break;
      case 'getEphemerals':
        request = { op, prefixPath: path ?? '/' };
        break;
      case 'ping':
      case 'closeSession':
        request = { op };
        break;
      case 'auth':
        // `auth CLIENT user:password`: a digest identity (`super:pw` is the super user).
        request = { op, scheme: 'digest', auth: encoder.encode(path ?? '') };
        break;
      case 'reconfig': {
        // `reconfig CLIENT [add=ID:ROLE,...] [leave=ID,...] [members=ID:ROLE,...] [from=N]`:
        // servers named by id and role, their addresses those `cluster reconfig=on` gives.
        const servers = (key: string) => {
          const list = args.named.get(key);
          if (list === undefined) return null;
          return list
            .split(',')
            .map((entry) => {
              const [id, role = 'participant'] = entry.split(':');
              return formatEnsembleMember(goldenMember(Number(id), role as EnsembleMember['role']));
            })
            .join(',');
        };
        request = {
          op,
          joiningServers: servers('add'),
          leavingServers: args.named.get('leave') ?? null,
          newMembers: servers('members'),
          fromConfig: args.named.has('from') ? BigInt(args.named.get('from')!) : -1n,
        };
        break;
      }
      default:
        throw new Error(`unknown command ${op}`);
    }
    this.out.push(`${client.name} xid=${client.nextXid} -> ${client.server}`);
    this.send(client, request);
  }

  private send(client: Client, request: ClientRequest): void {
    const xid = client.nextXid++;
    this.c.step(client.server, { kind: 'request', connectionId: client.connectionId, xid, request });
  }

  private status(args: Args): void {
    const ids =
      args.positional.length === 0 ? [...this.c.nodes.keys()] : args.positional.map((id) => this.id(id));
    this.printStatus(ids);
  }

  private printStatus(ids: readonly number[]): void {
    this.out.push(`time +${this.c.nowMs - this.startMs}ms`);
    for (const id of ids)
      this.out.push(this.c.alive(id) ? this.printer.status(this.c.peer(id).status()) : `${id} down`);
  }

  private storage(id: number): void {
    const durable = this.c.nodes.get(id)!.durable;
    this.out.push(
      `${id} epochs accepted=e${durable.epochs.acceptedEpoch} current=e${durable.epochs.currentEpoch}`,
    );
    const snapshot = durable.latestSnapshot();
    this.out.push(
      `${id} snapshot ${snapshot === undefined ? 'none' : `@${this.printer.zxid(snapshot.zxid)}`}`,
    );
    this.out.push(`${id} log ${this.printer.txns(durable.log)}`);
  }

  private digests(): void {
    const digests = this.c.digests();
    const distinct = new Set<string>();
    for (const [id, { zxid, digest }] of digests) {
      distinct.add(`${zxid}:${digest}`);
      this.out.push(`${id} applied=${this.printer.zxid(zxid)} digest=${digest.slice(0, 8)}`);
    }
    this.out.push(distinct.size === 1 ? 'every live replica agrees' : 'CHECK FAILED: replicas differ');
  }

  // ---- checks -------------------------------------------------------------------------------

  private verdict(passed: boolean, what: string): void {
    this.out.push(`${passed ? 'ok' : 'CHECK FAILED'}: ${what}`);
  }

  /**
   * The standing check: a message that promises durable state leaves only once its sender's
   * storage holds it (what a crash right now would keep).
   */
  private checkPromise(envelope: Envelope): void {
    const message = envelope.message;
    // While the cluster is being made, peers only start their elections.
    if (message.kind !== 'ackEpoch' && message.kind !== 'ackNewLeader' && message.kind !== 'ack') return;
    const durable = this.c.nodes.get(envelope.from)!.durable;
    const lastDurable = durable.log.at(-1)?.zxid ?? durable.latestSnapshot()?.zxid ?? zeroZxid;
    let broken: string | undefined;
    if (message.kind === 'ackEpoch' && durable.epochs.acceptedEpoch < message.epoch)
      broken = `accepted epoch e${durable.epochs.acceptedEpoch} is durable`;
    else if (message.kind === 'ackNewLeader') {
      const named = this.newLeaderLast.get(envelope.from) ?? zeroZxid;
      if (durable.epochs.currentEpoch < message.epoch)
        broken = `current epoch e${durable.epochs.currentEpoch} is durable`;
      else if (lastDurable < named)
        broken = `history through ${this.printer.zxid(lastDurable)} of ${this.printer.zxid(named)} is durable`;
    } else if (message.kind === 'ack') {
      const snapshotZxid = durable.latestSnapshot()?.zxid ?? zeroZxid;
      if (message.zxid > snapshotZxid && !durable.log.some((txn) => txn.zxid === message.zxid))
        broken = `${this.printer.zxid(message.zxid)} is not in durable storage`;
    }
    if (broken !== undefined)
      this.out.push(`CHECK FAILED: ${this.printer.envelope(envelope)} left before durable (${broken})`);
  }

  /** The standing check of Leadership: one server sends NEWLEADER in an epoch, whoever to. */
  private checkLeadership(envelope: Envelope): void {
    const message = envelope.message;
    if (message.kind !== 'newLeader') return;
    const leader = this.leaderOfEpoch.get(message.epoch);
    if (leader === undefined) this.leaderOfEpoch.set(message.epoch, envelope.from);
    else if (leader !== envelope.from)
      this.out.push(`CHECK FAILED: ${envelope.from} and ${leader} both sent NEWLEADER of e${message.epoch}`);
  }

  private check(args: Args): void {
    const [what, ...rest] = args.positional;
    switch (what) {
      case 'converged': {
        const states = [...this.c.digests()].map(
          ([id, d]) => `${id}@${this.printer.zxid(d.zxid)}:${d.digest}`,
        );
        const distinct = new Set(states.map((state) => state.slice(state.indexOf('@'))));
        this.verdict(
          distinct.size === 1,
          distinct.size === 1
            ? `${states.length} live replicas applied ${states[0]!.slice(states[0]!.indexOf('@') + 1, states[0]!.indexOf(':'))} and agree`
            : `replicas differ: ${states.map((state) => state.slice(0, state.indexOf(':') + 9)).join(' ')}`,
        );
        return;
      }
      case 'reply':
        this.checkReply(rest[0], args);
        return;
      case 'connected': {
        // `check connected CLIENT refused`, or `... [timeout=MS] [session-of=OTHER]`.
        const name = rest[0];
        this.client(name);
        const connected = this.connectedAs.get(name!);
        const refused = rest[1] === 'refused';
        const other = args.named.get('session-of');
        const otherSession = other === undefined ? undefined : this.client(other).sessionId;
        const passed =
          connected !== undefined &&
          (refused
            ? connected.timeoutMs === 0
            : connected.timeoutMs > 0 &&
              (!args.named.has('timeout') ||
                connected.timeoutMs === this.int(args.named.get('timeout'), 'timeout')) &&
              (otherSession === undefined || connected.sessionId === otherSession));
        this.verdict(
          passed,
          connected === undefined
            ? `${name} was never answered`
            : connected.timeoutMs === 0
              ? `${name} refused`
              : `${name} connected ${this.printer.session(connected.sessionId)} timeout=${connected.timeoutMs}ms`,
        );
        return;
      }
      case 'heard': {
        // `check heard CLIENT TEXT`: some line the client heard contains TEXT.
        const [name, text] = rest;
        this.client(name);
        if (text === undefined) throw new Error('check heard CLIENT TEXT');
        const line = (this.heardLines.get(name!) ?? []).find((candidate) => candidate.includes(text));
        this.verdict(line !== undefined, line ?? `${name} never heard "${text}"`);
        return;
      }
      case 'closed': {
        const [name, reason] = rest;
        this.client(name);
        const reasons = this.closes.get(name!) ?? [];
        this.verdict(reasons.includes(reason ?? ''), `${name} closed (${reasons.join(', ') || 'never'})`);
        return;
      }
      case 'znode':
        this.checkZnode(rest[0], rest[1], args);
        return;
      case 'log': {
        const [idToken, has, path] = rest;
        const id = this.id(idToken);
        if ((has !== 'has' && has !== 'lacks') || path === undefined)
          throw new Error('check log ID has|lacks PATH');
        const count = this.c.durableLog(id).filter((txn) => touches(txn, path)).length;
        const wanted = args.named.has('count') ? this.int(args.named.get('count'), 'count') : undefined;
        const passed = has === 'lacks' ? count === 0 : wanted === undefined ? count > 0 : count === wanted;
        this.verdict(passed, `${id}'s durable log has ${count} change${count === 1 ? '' : 's'} of ${path}`);
        return;
      }
      case 'status':
        this.checkStatus(this.id(rest[0]), args);
        return;
      case 'syncs': {
        // `check syncs ID diff,snap [txns>=N]`: every learner sync ID received, in order.
        const id = this.id(rest[0]);
        const syncs = this.syncsTo.get(id) ?? [];
        const modes = syncs.map((sync) => sync.mode).join(',');
        const last = syncs.at(-1);
        const least = args.named.has('txns>') ? this.int(args.named.get('txns>'), 'txns>=N') : 0;
        this.verdict(
          modes === rest[1] && (last?.txns ?? 0) >= least,
          `${id} received ${modes || 'no learner sync'}${last === undefined ? '' : `, the last with ${last.txns} entries`}`,
        );
        return;
      }
      case 'config': {
        // `check config ID voters=1,2,3 [observers=4,5] [version=E.C]`: the configuration in
        // force on ID, and its quorum (joint while a change is pending shows both).
        const id = this.id(rest[0]);
        const peer = this.c.peer(id);
        const config = peer.ensembleConfig;
        const ids = (role: EnsembleMember['role']) =>
          (config?.members ?? [])
            .filter((m) => m.role === role)
            .map((m) => m.id)
            .join(',');
        const version = config === undefined ? 'none' : this.printer.zxid(config.version);
        const passed =
          ids('participant') === (args.named.get('voters') ?? '') &&
          ids('observer') === (args.named.get('observers') ?? '') &&
          (!args.named.has('version') || args.named.get('version') === version) &&
          peer.pendingEnsembleConfig === undefined;
        this.verdict(
          passed,
          `${id}'s configuration ${version}: voters ${ids('participant') || 'none'}, observers ${ids('observer') || 'none'}${peer.pendingEnsembleConfig === undefined ? '' : ', a change pending'}`,
        );
        return;
      }
      case 'votes-agree': {
        const live = [...this.c.nodes.keys()].filter((id) => this.c.alive(id));
        const votes = live.map((id) => this.c.peer(id).status().vote);
        const distinct = new Set(votes.map((vote) => `${vote.leader}/e${vote.peerEpoch}`));
        const leader = this.c.leader();
        const leaderEpoch = leader === undefined ? undefined : this.c.peer(leader).status().currentEpoch;
        const passed =
          distinct.size === 1 && votes[0]!.leader === leader && votes[0]!.peerEpoch === leaderEpoch;
        this.verdict(
          passed,
          `votes ${[...distinct].join(' ')}; leader ${leader ?? 'none'} leads e${leaderEpoch}`,
        );
        return;
      }
      default:
        throw new Error(`unknown check ${what}`);
    }
  }

  private checkReply(name: string | undefined, args: Args): void {
    this.client(name);
    const xid = this.int(args.named.get('xid'), 'xid=N');
    const expected = args.positional[2];
    if (expected === undefined) throw new Error('check reply CLIENT xid=N none|ok|CODE');
    const line = this.heard.get(name!)?.get(xid);
    const has = args.named.get('has');
    let passed: boolean;
    if (expected === 'none') passed = line === undefined;
    else {
      // The printed reply: "<client> reply xid=N zxid=Z <op> ok ..." or "<op> <ErrorName> ...".
      const words = line?.split(' ') ?? [];
      passed = line !== undefined && words[5] === expected && (has === undefined || line.includes(has));
    }
    this.verdict(passed, line === undefined ? `${name} heard nothing for xid=${xid}` : line);
  }

  private checkZnode(path: string | undefined, state: string | undefined, args: Args): void {
    if (path === undefined || (state !== 'present' && state !== 'absent'))
      throw new Error('check znode PATH present|absent [on=ID,...]');
    const ids = args.named.has('on')
      ? args.named
          .get('on')!
          .split(',')
          .map((id) => this.id(id))
      : [...this.c.nodes.keys()].filter((id) => this.c.alive(id));
    const wrong = ids.filter((id) => (this.c.peer(id).znodeAt(path) !== undefined) !== (state === 'present'));
    this.verdict(
      wrong.length === 0 && ids.length > 0,
      wrong.length === 0
        ? `${path} ${state} on ${ids.join(',')}`
        : `${path} not ${state} on ${wrong.join(',')}`,
    );
  }

  private checkStatus(id: number, args: Args): void {
    if (!this.c.alive(id)) {
      this.verdict(false, `${id} is down`);
      return;
    }
    const status = this.c.peer(id).status();
    const failed: string[] = [];
    for (const [key, value] of args.named) {
      const actual = (): string => {
        switch (key) {
          case 'role':
            return status.role;
          case 'serving':
            return status.serving ? 'yes' : 'no';
          case 'leader':
            return String(status.leaderId ?? 'none');
          case 'acceptedEpoch':
            return String(status.acceptedEpoch);
          case 'currentEpoch':
          case 'currentEpoch>':
            return String(status.currentEpoch);
          case 'looking~':
            return status.lookingReason;
          default:
            throw new Error(`check status: unknown key ${key}`);
        }
      };
      const got = actual();
      const passed = key.endsWith('>')
        ? Number(got) >= this.int(value, key)
        : key.endsWith('~')
          ? got.includes(value)
          : got === value;
      if (!passed)
        failed.push(`${key}${key.endsWith('>') || key.endsWith('~') ? '' : '='}${value} (is ${got})`);
    }
    this.verdict(
      failed.length === 0,
      failed.length === 0 ? this.printer.status(status) : `${id} ${failed.join(', ')}`,
    );
  }

  // ---- argument helpers ---------------------------------------------------------------------

  private int(token: string | undefined, what: string): number {
    const value = Number(token);
    if (token === undefined || !Number.isInteger(value))
      throw new Error(`expected a number for ${what}, got ${token}`);
    return value;
  }

  private id(token: string | undefined): number {
    const id = this.int(token, 'a server id');
    if (!this.c.nodes.has(id)) throw new Error(`no server ${id}`);
    return id;
  }

  private onOff(token: string | undefined): boolean {
    if (token === 'on') return true;
    if (token === 'off') return false;
    throw new Error(`expected on or off, got ${token}`);
  }

  private client(name: string | undefined): Client {
    const client = name === undefined ? undefined : this.clients.get(name);
    if (client === undefined) throw new Error(`no client ${name}`);
    return client;
  }

  private zxid(token: string): Zxid {
    const [epoch, counter] = token.split('.').map(Number);
    return makeZxid(epoch ?? 0, counter ?? 0);
  }
}

/** Whether a transaction changes `path` (a multi, through any of its parts). */
function touches(txn: Txn, path: string): boolean {
  const body = txn.body;
  if (body.kind === 'multi') return body.parts.some((part) => 'path' in part && part.path === path);
  return 'path' in body && body.path === path;
}

/** A member as `cluster reconfig=on` and `reconfig` name it: 127.0.0.1, ports from its id. */
function goldenMember(id: number, role: EnsembleMember['role']): EnsembleMember {
  return {
    id,
    host: '127.0.0.1',
    quorumPort: 2880 + id,
    electionPort: 3880 + id,
    role,
    client: { address: '127.0.0.1', port: 2180 + id },
  };
}
