/**
 * How a golden transcript shows the core's values: one short, stable line each. Zxids print
 * as `epoch.counter` (`1.3`), session ids as `s1`, `s2`... in the order the transcript first
 * meets them (so a transcript does not depend on how ids are allocated), data as a JSON
 * string, error codes by ZooKeeper's names. Nothing printed depends on the wall clock.
 */
import {
  type PeerEvent as AnyPeerEvent,
  type ClientOutput,
  counterOf,
  type Envelope,
  EventType,
  epochOf,
  errorName,
  type MultiPartTxn,
  nodeKindOf,
  type OpResult,
  type PeerMessage,
  type PeerStatus,
  type Reply,
  type StorageAction,
  type StorageRead,
  type Txn,
  type TxnBody,
  type Zxid,
} from '../../src/index.js';

const decoder = new TextDecoder();
const eventNames = new Map<number, string>(Object.entries(EventType).map(([name, value]) => [value, name]));

/** The events `event` prints; a follower dropped for lagging has `learnerDropped`. */
type PeerEvent = Exclude<AnyPeerEvent, { kind: 'learnerDropped' }>;

export class Printer {
  private readonly sessionNames = new Map<bigint, string>();

  /** `s1`, `s2`... by first appearance; `-` for no session (0). */
  session(id: bigint): string {
    if (id === 0n) return '-';
    let name = this.sessionNames.get(id);
    if (name === undefined) {
      name = `s${this.sessionNames.size + 1}`;
      this.sessionNames.set(id, name);
    }
    return name;
  }

  /** The session a name stands for, once printed. */
  sessionId(name: string): bigint | undefined {
    for (const [id, known] of this.sessionNames) if (known === name) return id;
    return undefined;
  }

  zxid(zxid: bigint): string {
    if (zxid < 0n) return String(zxid);
    return `${epochOf(zxid as Zxid)}.${counterOf(zxid as Zxid)}`;
  }

  /** Quoted text; null data (not the same as empty) prints as `null`. */
  data(bytes: Uint8Array | null): string {
    return bytes === null ? 'null' : JSON.stringify(decoder.decode(bytes));
  }

  /** `1.4 s1#3 create /a "x"`: zxid, session and client xid (none for the service's own), body. */
  txn(txn: Txn): string {
    const who =
      txn.sessionId === 0n ? '' : ` ${this.session(txn.sessionId)}${txn.cxid >= 0 ? `#${txn.cxid}` : ''}`;
    return `${this.zxid(txn.zxid)}${who} ${this.body(txn.body)}`;
  }

  txns(txns: readonly Txn[]): string {
    return `[${txns.map((txn) => this.txn(txn)).join(', ')}]`;
  }

  private body(body: TxnBody | MultiPartTxn): string {
    switch (body.kind) {
      case 'createSession':
        return `createSession ${body.timeoutMs}ms`;
      case 'closeSession':
        return body.ephemeralPaths.length === 0
          ? 'closeSession'
          : `closeSession ephemerals=[${body.ephemeralPaths.join(', ')}]`;
      case 'create': {
        const kind = nodeKindOf(body.ephemeralOwner);
        const data = body.data?.length === 0 ? '' : ` ${this.data(body.data)}`;
        const owner =
          kind === 'ephemeral'
            ? ` ephemeral=${this.session(body.ephemeralOwner)}`
            : kind === 'persistent'
              ? ''
              : ` ${kind}`;
        return `create ${body.path}${data}${owner}`;
      }
      case 'delete':
        return `delete ${body.path}`;
      case 'setData':
        return `setData ${body.path} ${this.data(body.data)} v${body.version}`;
      case 'setACL':
        return `setACL ${body.path} av${body.aversion}`;
      case 'check':
        return `check ${body.path} v${body.version}`;
      case 'multi':
        return `multi [${body.parts.map((part) => this.body(part)).join('; ')}]`;
      case 'error':
        return `error ${errorName(body.code) ?? body.code}`;
      case 'reconfig':
        return `reconfig ${JSON.stringify(body.config)}`;
      case 'restore':
        return `restore ${body.token} ${body.nodes.length} nodes ${body.sessions.length} sessions`;
    }
  }

  /** A peer message, without its envelope. */
  message(message: PeerMessage): string {
    switch (message.kind) {
      case 'notification': {
        const { vote } = message;
        return `notification vote=${vote.leader}@${this.zxid(vote.zxid)}/e${vote.peerEpoch} round=${message.electionEpoch} ${message.state}`;
      }
      case 'followerInfo':
        return `followerInfo accepted=e${message.acceptedEpoch} attempt=${message.attempt}${message.observer ? ' observer' : ''}`;
      case 'leaderInfo':
        return `leaderInfo e${message.epoch}`;
      case 'ackEpoch':
        return `ackEpoch e${message.epoch} current=e${message.currentEpoch} last=${this.zxid(message.lastZxid)}${message.promisedNow ? '' : ' promised-before'}`;
      case 'syncBegin': {
        const head =
          message.mode === 'trunc'
            ? ` to=${this.zxid(message.truncateTo ?? -1n)}`
            : message.mode === 'snap'
              ? ` snapshot@${this.zxid(message.snapshotZxid ?? -1n)}`
              : '';
        return `syncBegin e${message.epoch} ${message.mode}${head}`;
      }
      case 'syncSnapshotChunk':
        return `syncSnapshotChunk e${message.epoch} #${message.seq} (${message.nodes.length} nodes, ${message.sessions.length} sessions)${message.last ? ' last' : ''}`;
      case 'syncTxns':
        return `syncTxns e${message.epoch} #${message.seq} ${this.txns(message.txns)}`;
      case 'syncAck':
        return `syncAck e${message.epoch} #${message.seq}`;
      case 'newLeader':
        return `newLeader e${message.epoch} last=${this.zxid(message.lastZxid)}`;
      case 'ackNewLeader':
        return `ackNewLeader e${message.epoch}`;
      case 'upToDate':
        return `upToDate e${message.epoch} commit=${this.zxid(message.commitZxid)}`;
      case 'proposal':
        return `proposal e${message.epoch} ${this.txns(message.txns)}`;
      case 'ack':
        return `ack e${message.epoch} ${this.zxid(message.zxid)}`;
      case 'commit':
        return `commit e${message.epoch} ${this.zxid(message.zxid)}`;
      case 'inform':
        return `inform e${message.epoch} ${this.txns(message.txns)}`;
      case 'ping':
        return `ping e${message.epoch}`;
      case 'pingReply':
        return `pingReply e${message.epoch} touches=[${message.touches.map((id) => this.session(id)).join(', ')}]`;
      case 'request':
        return `request e${message.epoch} seq=${message.seq} ${this.session(message.sessionId)}#${message.cxid} ${message.request.op}${'path' in message.request ? ` ${message.request.path}` : ''}`;
      case 'clientSync':
        return `clientSync e${message.epoch} seq=${message.seq} ${this.session(message.sessionId)}#${message.cxid}`;
      case 'clientSyncReply':
        return `clientSyncReply e${message.epoch} ${this.session(message.sessionId)}#${message.cxid} zxid=${this.zxid(message.zxid)}`;
      case 'revalidate':
        return `revalidate e${message.epoch} ${this.session(message.sessionId)} conn=${message.connectionId}`;
      case 'leaderLeaving':
        return `leaderLeaving e${message.epoch}`;
      case 'leadershipTransfer':
        return `leadershipTransfer e${message.epoch} successor=${message.successor} through=${this.zxid(message.zxid)}`;
      case 'transferLeadership':
        return `transferLeadership e${message.epoch} to=${message.to === -1 ? 'any' : message.to} within=${message.timeoutMs}ms`;
      case 'transferOutcome':
        return `transferOutcome e${message.epoch} ${message.outcome} ${JSON.stringify(message.reason)}`;
      case 'configNotice':
        return `configNotice ${JSON.stringify(message.config)}`;
      case 'revalidateReply':
        return `revalidateReply e${message.epoch} ${this.session(message.sessionId)} conn=${message.connectionId} ${message.valid ? 'valid' : 'invalid'}`;
    }
  }

  /** `read snapshot@1.5 cursor=0 max=1024 (#1)`: a storage read a peer asks for. */
  read(read: StorageRead): string {
    return `read snapshot@${this.zxid(read.zxid)} cursor=${read.cursor} max=${read.bytesMax} (#${read.readId})`;
  }

  /** `event syncFinished learner peer=3 snap chunks=4 bytes=812 in 20 ms`: what a peer reports for its log. */
  event(event: PeerEvent): string {
    const head = (
      e: Exclude<
        PeerEvent,
        {
          kind:
            | 'incompleteSnapshotsDiscarded'
            | 'snapshotDeferred'
            | 'peerMessageRefused'
            | 'leadershipTransfer'
            | 'restore';
        }
      >,
    ) => `event ${e.kind} ${e.side} peer=${e.peer} ${e.mode}`;
    switch (event.kind) {
      case 'incompleteSnapshotsDiscarded':
        return `event incompleteSnapshotsDiscarded [${event.zxids.map((zxid) => this.zxid(zxid)).join(', ')}]`;
      case 'snapshotDeferred':
        return `event snapshotDeferred at=${this.zxid(event.zxid)}`;
      case 'peerMessageRefused':
        return `event peerMessageRefused peer=${event.peer} ${event.message}: ${event.reason}`;
      case 'leadershipTransfer':
        return `event leadershipTransfer ${event.outcome}${event.successor === undefined ? '' : ` successor=${event.successor}`}: ${event.reason}`;
      case 'restore':
        return `event restore ${event.outcome} ${event.token}${event.zxid === undefined ? '' : ` at=${this.zxid(event.zxid)}`}: ${event.reason}`;
      case 'syncStarted':
        return head(event);
      case 'syncFinished':
        return `${head(event)} chunks=${event.chunks} bytes=${event.bytes} in ${event.durationMs} ms last=${this.zxid(event.lastZxid)}`;
      case 'syncFailed':
        return `${head(event)} chunks=${event.chunks} bytes=${event.bytes} in ${event.durationMs} ms: ${event.reason}`;
    }
  }

  envelope(envelope: Envelope): string {
    return `${envelope.from}->${envelope.to} ${this.message(envelope.message)}`;
  }

  action(action: StorageAction): string {
    switch (action.kind) {
      case 'append':
        return `append ${this.txns(action.txns)}`;
      case 'truncate':
        return `truncate after=${this.zxid(action.afterZxid)}`;
      case 'snapshot':
        return `snapshot@${this.zxid(action.snapshot.zxid)}`;
      case 'reset':
        return `reset to snapshot@${this.zxid(action.snapshot.zxid)} (${action.snapshot.nodes.length} nodes)`;
      case 'purge':
        return `purge through=${this.zxid(action.throughZxid)}`;
      case 'epochs':
        return `epochs accepted=e${action.epochs.acceptedEpoch} current=e${action.epochs.currentEpoch}`;
      case 'sessionSecret':
        return `sessionSecret (${action.secret.length} bytes)`;
      case 'stageBegin':
        return `stageBegin snapshot@${this.zxid(action.zxid)}`;
      case 'stageChunk':
        return `stageChunk snapshot@${this.zxid(action.zxid)} #${action.index} (${action.nodes.length} nodes)`;
      case 'stageCommit':
        return `stageCommit snapshot@${this.zxid(action.zxid)} (${action.chunks} chunks, ${action.nodes} nodes)`;
      case 'stageDiscard':
        return 'stageDiscard';
    }
  }

  /** A client output, for the connection the transcript calls `client`. */
  output(output: ClientOutput, client: string): string {
    switch (output.kind) {
      case 'connected':
        return output.timeoutMs === 0
          ? `${client} connected: session expired or refused`
          : `${client} connected ${this.session(output.sessionId)} timeout=${output.timeoutMs}ms`;
      case 'reply':
        return `${client} reply xid=${output.xid} zxid=${this.zxid(output.zxid)} ${this.reply(output.reply)}`;
      case 'watch':
        return `${client} watch ${eventNames.get(output.event.type) ?? output.event.type} ${output.event.path} zxid=${this.zxid(output.zxid)}`;
      case 'close':
        return `${client} closed (${output.reason})`;
    }
  }

  reply(reply: Reply): string {
    if (!reply.ok)
      return `${reply.op} ${errorName(reply.code) ?? reply.code}${reply.path === undefined ? '' : ` ${reply.path}`}`;
    const result = reply.result as Record<string, unknown>;
    switch (reply.op) {
      case 'create': {
        const { path, stat } = result as { path: string; stat: { czxid: bigint } };
        return `create ok ${path} czxid=${this.zxid(stat.czxid)}`;
      }
      case 'setData':
      case 'exists': {
        const { stat } = result as { stat: { mzxid: bigint; version: number } };
        return `${reply.op} ok version=${stat.version} mzxid=${this.zxid(stat.mzxid)}`;
      }
      case 'getData': {
        const { data, stat } = result as { data: Uint8Array; stat: { mzxid: bigint; version: number } };
        return `getData ok ${this.data(data)} version=${stat.version} mzxid=${this.zxid(stat.mzxid)}`;
      }
      case 'getChildren':
        return `getChildren ok [${(result.children as string[]).join(', ')}]`;
      case 'getEphemerals':
        return `getEphemerals ok [${(result.ephemerals as string[]).join(', ')}]`;
      case 'multi':
        return `multi ok [${(result.results as OpResult[]).map((part) => part.op).join(', ')}]`;
      case 'reconfig': {
        const { stat } = result as { stat: { mzxid: bigint } };
        return `reconfig ok version=${this.zxid(stat.mzxid)}`;
      }
      default:
        return `${reply.op} ok`;
    }
  }

  /** `2 following leader=3 serving vote=3/e1 epochs=1/1 log=1.3 durable=1.3 committed=1.3 applied=1.3`. */
  status(status: PeerStatus): string {
    const leader = status.leaderId === undefined ? '' : ` leader=${status.leaderId}`;
    const serving = status.serving ? ' serving' : '';
    const looking = status.role === 'looking' ? ` (${status.lookingReason})` : '';
    const departure = status.departure === 'staying' ? '' : ` ${status.departure}`;
    return (
      `${status.serverId} ${status.role}${leader}${serving} vote=${status.vote.leader}/e${status.vote.peerEpoch}` +
      ` epochs=${status.acceptedEpoch}/${status.currentEpoch}` +
      ` log=${this.zxid(status.lastLoggedZxid)} durable=${this.zxid(status.lastPersistedZxid)}` +
      ` committed=${this.zxid(status.lastCommittedZxid)} applied=${this.zxid(status.lastAppliedZxid)}${looking}${departure}`
    );
  }

  /** `event learnerDropped peer=2 lag=14/3210B oldest=512ms: ...`: a leader dropped a lagging follower. */
  learnerDropped(event: Extract<AnyPeerEvent, { kind: 'learnerDropped' }>): string {
    return `event learnerDropped peer=${event.peer} lag=${event.lagTxns}/${event.lagBytes}B oldest=${event.oldestUnacknowledgedAgeMs}ms: ${event.reason}`;
  }
}
