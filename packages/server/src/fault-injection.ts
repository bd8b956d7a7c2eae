/**
 * Faults a test harness injects into a real `zabkit server` process, where it cannot reach
 * the system clock or the disk: a wall-clock offset, slow disk writes that a crash loses, a
 * full disk. Off unless the environment names a directory of control files
 * (`ZABKIT_FAULT_INJECTION_DIR`), which the process reads every 50 ms, so a test changes a
 * fault while the server runs by writing a file:
 *
 * - `clock-offset-ms`: a number of milliseconds added to the wall clock the peer reads (ctime,
 *   mtime, TTLs), as `date -s` would move it. Timers run on the monotonic clock and must not
 *   notice.
 * - `write-delay-ms`: each storage write is held in memory this long before it reaches the
 *   store, as a slow fsync would; a crash meanwhile loses it, as it loses un-synced writes.
 * - `disk-full`: while the file exists, every storage write fails with ENOSPC.
 *
 * Production code paths are the same with or without it: only the storage handed to the
 * server and the wall clock it reads are wrapped.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Epochs,
  PeerStorage,
  PersistedState,
  SessionId,
  SnapshotChunk,
  SnapshotCursor,
  SnapshotNode,
  StorageAction,
  TreeSnapshot,
  Txn,
  Zxid,
} from '@zabkit/core';

/** The environment variable that turns fault injection on. */
export const faultInjectionDirVariable = 'ZABKIT_FAULT_INJECTION_DIR';

/** How often the control files are read again. */
const pollIntervalMs = 50;

/** The faults in force, as the control files last said. */
interface FaultSettings {
  clockOffsetMs: number;
  writeDelayMs: number;
  diskFull: boolean;
}

/** Reads a directory of control files and applies what they say to a clock and a store. */
export class FaultInjection {
  private settings: FaultSettings = { clockOffsetMs: 0, writeDelayMs: 0, diskFull: false };
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(readonly directory: string) {
    this.read();
    this.timer = setInterval(() => this.read(), pollIntervalMs);
    this.timer.unref();
  }

  /** Fault injection as the environment asks for it, or undefined when it is off. */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): FaultInjection | undefined {
    const directory = env[faultInjectionDirVariable];
    return directory === undefined || directory === '' ? undefined : new FaultInjection(directory);
  }

  /** The wall clock with the injected offset. */
  readonly wallClock = (): number => Date.now() + this.settings.clockOffsetMs;

  /** `storage` with the injected disk faults in front of every write. */
  wrapStorage(storage: PeerStorage): PeerStorage {
    return new FaultyStorage(storage, () => this.settings);
  }

  /** Stops reading the control files. */
  close(): void {
    clearInterval(this.timer);
  }

  private read(): void {
    this.settings = {
      clockOffsetMs: this.number('clock-offset-ms'),
      writeDelayMs: Math.max(0, this.number('write-delay-ms')),
      diskFull: this.text('disk-full') !== undefined,
    };
  }

  private text(name: string): string | undefined {
    try {
      return readFileSync(join(this.directory, name), 'utf8');
    } catch {
      return undefined;
    }
  }

  private number(name: string): number {
    const value = Number(this.text(name)?.trim() ?? 0);
    return Number.isFinite(value) ? value : 0;
  }
}

/** The error a full disk gives, shaped as Node's file system errors are. */
function noSpaceError(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write (injected)'), {
    code: 'ENOSPC',
    errno: -28,
    syscall: 'write',
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A store whose writes may be slow (and lost by a crash meanwhile) or refused as by a full disk. */
class FaultyStorage implements PeerStorage {
  constructor(
    private readonly inner: PeerStorage,
    private readonly settings: () => FaultSettings,
  ) {}

  /** Every write passes here: refused when the disk is full, else held for the delay first. */
  private async write<T>(run: () => Promise<T>): Promise<T> {
    if (this.settings().diskFull) throw noSpaceError();
    const delayMs = this.settings().writeDelayMs;
    if (delayMs > 0) {
      await sleep(delayMs);
      // The disk may have filled while the write waited.
      if (this.settings().diskFull) throw noSpaceError();
    }
    return run();
  }

  load(): Promise<PersistedState> {
    return this.inner.load();
  }
  append(txns: readonly Txn[]): Promise<void> {
    return this.write(() => this.inner.append(txns));
  }
  readLog(afterZxid: Zxid): Promise<Txn[]> {
    return this.inner.readLog(afterZxid);
  }
  truncate(afterZxid: Zxid): Promise<void> {
    return this.write(() => this.inner.truncate(afterZxid));
  }
  saveSnapshot(snapshot: TreeSnapshot): Promise<void> {
    return this.write(() => this.inner.saveSnapshot(snapshot));
  }
  latestSnapshot(): Promise<TreeSnapshot | undefined> {
    return this.inner.latestSnapshot();
  }
  reset(snapshot: TreeSnapshot): Promise<void> {
    return this.write(() => this.inner.reset(snapshot));
  }
  purge(throughZxid: Zxid): Promise<void> {
    return this.write(() => this.inner.purge(throughZxid));
  }
  readEpochs(): Promise<Epochs> {
    return this.inner.readEpochs();
  }
  writeEpochs(epochs: Epochs): Promise<void> {
    return this.write(() => this.inner.writeEpochs(epochs));
  }
  writeSessionSecret(secret: Uint8Array): Promise<void> {
    return this.write(() => this.inner.writeSessionSecret(secret));
  }
  readSnapshotChunk(zxid: Zxid, cursor: SnapshotCursor, bytesMax: number): Promise<SnapshotChunk> {
    return this.inner.readSnapshotChunk(zxid, cursor, bytesMax);
  }
  stageSnapshot(zxid: Zxid): Promise<void> {
    return this.write(() => this.inner.stageSnapshot(zxid));
  }
  stageChunk(zxid: Zxid, index: number, nodes: readonly SnapshotNode[]): Promise<void> {
    return this.write(() => this.inner.stageChunk(zxid, index, nodes));
  }
  commitStagedSnapshot(
    zxid: Zxid,
    chunks: number,
    nodes: number,
    sessions: readonly (readonly [SessionId, number])[],
  ): Promise<void> {
    return this.write(() => this.inner.commitStagedSnapshot(zxid, chunks, nodes, sessions));
  }
  discardStagedSnapshots(): Promise<void> {
    return this.write(() => this.inner.discardStagedSnapshots());
  }
  get apply(): ((actions: readonly StorageAction[]) => Promise<void>) | undefined {
    const inner = this.inner;
    if (inner.apply === undefined) return undefined;
    return (actions) => this.write(() => inner.apply!(actions));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
