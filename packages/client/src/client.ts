/**
 * ZabClient: the promise API over one session. Operations take a deadline, an AbortSignal and
 * a retry policy; paths are under the client's root (a chroot from the connect string, or a
 * namespace view); events follow Node's EventEmitter. The session itself (links, replies,
 * watches, reconnects, expiry) is `session.ts`.
 *
 * Which operations are retried, when a retry policy is given, and why (Curator's reasoning):
 * - reads, `sync`, `whoAmI`, watch and auth requests: always; repeating them changes nothing.
 * - writes whose repetition cannot apply twice: `setData`, `delete` and `setACL` with a version,
 *   non-sequential creates, multis holding such an op, and sequential creates made safe with
 *   `protected` (Curator's protection: the node's name carries an id, found after a loss).
 *   When a retry meets the conflict its own first attempt may have caused (BadVersion,
 *   NodeExists, NoNode), the client checks as Curator's idempotent mode does (the node holds
 *   exactly what was written, at the version it would have) and succeeds; otherwise it rejects
 *   with ConnectionLoss, ZooKeeper's word for "may or may not have been applied".
 * - never: unconditional `setData`, `delete` and `setACL` (version -1), unprotected sequential
 *   creates, and multis with no such guard. A repeat could undo another client's change or
 *   create a second node; they fail with the first error, as without a policy.
 */
import { EventEmitter } from 'node:events';
import {
  type ACL,
  AddWatchMode,
  type ClientRequest,
  CreateMode,
  configPath,
  ErrorCode,
  Ids,
  type MultiOp,
  type MultiReadOp,
  type OpResult,
  parentOf,
  type Reply,
  type ResultByOp,
  rootPath,
  type Stat,
  ZabError,
  type Zxid,
} from '@zabkit/core';
import type { LinkFactory } from './link.js';
import { type WatcherTypeName, watcherTypeNumber } from './modes.js';
import type {
  ClientEvents,
  ClientOptions,
  CodecOption,
  CreateNodeOptions,
  DeleteRecursiveOptions,
  EnsembleConfigReading,
  GetDataOptions,
  OperationOptions,
  ReconfigOptions,
  SetDataOptions,
  UpdateOptions,
  UpdateResult,
  VersionOptions,
  WatchOptions,
} from './options.js';
import { checkRoot, joinRoots } from './paths.js';
import type { RetryPolicy } from './retry.js';
import { type Conflict, isCode, OperationRunner, outcomeUnknown, type Safety } from './runner.js';
import type { OperationScope } from './scope.js';
import { Session, type SessionEvent } from './session.js';
import type { ClientState, StateListener } from './state.js';
import { randomUuid } from './timers.js';
import { checkMultiResults, createOp, type Data, ownBytes, Transaction, toBytes } from './transaction.js';
import { deleteSubtree, findProtected, makeParents, protectedPath } from './tree.js';
import type { WatchKind, WatchListener } from './watch-registry.js';
import { WatchStream } from './watch-stream.js';

const clientEventNames: ReadonlySet<string | symbol> = new Set<string | symbol>([
  'state',
  'connecting',
  'connected',
  'connectedReadOnly',
  'disconnected',
  'closed',
  'expired',
  'sessionRenewed',
]);

function bytesEqual(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

const noBytes = new Uint8Array(0);
const utf8 = new TextDecoder();

/** `/zookeeper/config`'s bytes as getConfig and reconfig answer them. */
function configReading(data: Uint8Array | null, stat: Stat): EnsembleConfigReading {
  const bytes = data ?? noBytes;
  const text = utf8.decode(bytes);
  const version = /^version=([0-9a-fA-F]{1,16})$/m.exec(text)?.[1];
  return { text, data: bytes, version: version === undefined ? undefined : BigInt(`0x${version}`), stat };
}

/** What a codec decodes: null data reads as empty bytes (a codec has no null to give). */
function codecBytes(data: Uint8Array | null): Uint8Array {
  return data ?? noBytes;
}

const statOf = (result: { readonly stat: Stat }): Stat => result.stat;
const pathOf = (result: { readonly path: string }): string => result.path;

function versionOf(versionOrOptions: number | VersionOptions | undefined): number {
  return typeof versionOrOptions === 'number' ? versionOrOptions : (versionOrOptions?.version ?? -1);
}

function optionsOf<T extends OperationOptions>(versionOrOptions: number | T | undefined): T | undefined {
  return typeof versionOrOptions === 'number' ? undefined : versionOrOptions;
}

const sequentialModes: ReadonlySet<number> = new Set([
  CreateMode.PersistentSequential,
  CreateMode.EphemeralSequential,
  CreateMode.PersistentSequentialWithTtl,
]);
const ephemeralModes: ReadonlySet<number> = new Set([CreateMode.Ephemeral, CreateMode.EphemeralSequential]);

/**
 * A session with a zabkit (or ZooKeeper) ensemble: the promise API, watches, and failover
 * between servers with the same session. Views made by `namespace` share the session.
 */
export class ZabClient extends EventEmitter<ClientEvents> {
  private stopFollowing: (() => void) | undefined;
  private readonly run: OperationRunner;

  private constructor(
    private readonly session: Session,
    /** The server path this client's "/" stands for ("/" when none). */
    readonly root: string,
    private readonly options: ClientOptions,
  ) {
    super();
    this.run = new OperationRunner(session, root, options);
    // Recipes and caches each follow the state; there is no leak to warn about.
    this.setMaxListeners(0);
    // Follow the session only while someone listens, so views can be made and dropped freely.
    this.on('newListener', (event) => {
      if (clientEventNames.has(event) && this.stopFollowing === undefined)
        this.stopFollowing = session.subscribe((sessionEvent) => this.relay(sessionEvent));
    });
    this.on('removeListener', () => {
      if (this.stopFollowing === undefined) return;
      for (const name of clientEventNames) if (this.listenerCount(name) > 0) return;
      this.stopFollowing();
      this.stopFollowing = undefined;
    });
  }

  /** Opens a session through `links`; resolves once the server has established it. */
  static async connect(links: LinkFactory, options: ClientOptions = {}): Promise<ZabClient> {
    const root = checkRoot(options.chroot ?? rootPath);
    if (options.requestTimeoutMs !== undefined && !(options.requestTimeoutMs >= 0))
      throw new RangeError('requestTimeoutMs must be a non-negative number');
    const session = new Session(links, options);
    await session.open();
    return new ZabClient(session, root, options);
  }

  private relay(event: SessionEvent): void {
    switch (event.kind) {
      case 'state':
        this.dispatch('state', event.state);
        if (event.state !== 'expired') this.dispatch(event.state);
        return;
      case 'expired':
        this.dispatch('expired', { sessionId: event.sessionId, detectedBy: event.detectedBy });
        return;
      case 'renewed':
        this.dispatch('sessionRenewed', {
          previousSessionId: event.previousSessionId,
          sessionId: event.sessionId,
        });
        return;
    }
  }

  /**
   * Emits as EventEmitter does (once-listeners included), except that a listener that throws
   * does not keep the others from hearing the event, nor break the session.
   */
  private dispatch<E extends keyof ClientEvents>(event: E, ...args: ClientEvents[E]): void {
    for (const listener of this.rawListeners(event as never) as ((...values: unknown[]) => void)[]) {
      try {
        listener.apply(this, args);
      } catch (error) {
        if (this.session.logger)
          this.session.logger.error({ err: error, event }, 'zabkit client: an event listener threw');
        else console.error(`zabkit: a listener of ${String(event)} threw`, error);
      }
    }
  }

  /** Where the session stands now; `state` events report each change. */
  get state(): ClientState {
    return this.session.state;
  }

  /** The server-assigned session id; pass it with `sessionPassword` to resume the session elsewhere. */
  get sessionId(): bigint {
    return this.session.sessionId;
  }

  /** The session's 16-byte password, needed with `sessionId` to resume it. */
  get sessionPassword(): Uint8Array {
    return this.session.sessionPassword;
  }

  /** The timeout the server negotiated. */
  get sessionTimeoutMs(): number {
    return this.session.sessionTimeoutMs;
  }

  /** The highest zxid this client has seen in a reply or event. */
  get lastSeenZxid(): Zxid {
    return this.session.lastSeenZxid;
  }

  /** True when the client opens a new session after one expires (the `renewSession` option). */
  get renewsSession(): boolean {
    return this.session.renews;
  }

  /** Calls `listener` on every state change; returns a function that stops it. */
  onStateChange(listener: StateListener): () => void {
    this.on('state', listener);
    return () => this.off('state', listener);
  }

  /**
   * A view of the subtree at `path` (Curator's usingNamespace): its paths are relative to it,
   * over the same session. Closing a view closes the session.
   */
  namespace(path: string): ZabClient {
    return new ZabClient(this.session, joinRoots(this.root, path), this.options);
  }

  // ---- znodes -------------------------------------------------------------------------

  /** Creates a znode and resolves with its path (with the sequence suffix, if any). */
  create(path: string, data?: Data, options?: CreateNodeOptions): Promise<string>;
  /** Creates a znode holding `value` as `options.codec` encodes it. */
  create<T>(path: string, value: T, options: CreateNodeOptions & CodecOption<T>): Promise<string>;
  create(
    path: string,
    data?: unknown,
    options?: CreateNodeOptions & Partial<CodecOption<unknown>>,
  ): Promise<string> {
    return this.createNode(path, data, options ?? {}, this.createdPath, pathOf);
  }

  /** Creates a znode and resolves with its path and Stat (ZooKeeper's create2). */
  create2(path: string, data?: Data, options?: CreateNodeOptions): Promise<{ path: string; stat: Stat }>;
  /** create2 with a codec for the data. */
  create2<T>(
    path: string,
    value: T,
    options: CreateNodeOptions & CodecOption<T>,
  ): Promise<{ path: string; stat: Stat }>;
  create2(
    path: string,
    data?: unknown,
    options: CreateNodeOptions & Partial<CodecOption<unknown>> = {},
  ): Promise<{ path: string; stat: Stat }> {
    return this.createNode(path, data, options, this.createdPathAndStat, undefined);
  }

  /** The caller's path of a node the server created. */
  private readonly createdPath = (created: { path: string }): string => this.run.clientPath(created.path);
  /** The caller's path and the Stat of a node the server created. */
  private readonly createdPathAndStat = (created: { path: string; stat: Stat }) => ({
    path: this.run.clientPath(created.path),
    stat: created.stat,
  });

  /**
   * create and create2: one attempt when nothing asks for more, else the guarded retry loop.
   * `answer` makes the result from the server's (server paths), `answerRetried` from the
   * loop's (client paths already; none: the loop's result as it is).
   */
  private createNode<T>(
    path: string,
    data: unknown,
    options: CreateNodeOptions & Partial<CodecOption<unknown>>,
    answer: (created: { path: string; stat: Stat }) => T,
    answerRetried: ((created: { path: string; stat: Stat }) => T) | undefined,
  ): Promise<T> {
    let bytes: Uint8Array | null;
    let plain: OperationScope | undefined;
    let request: ClientRequest & { op: 'create' };
    try {
      bytes =
        options.codec !== undefined
          ? ownBytes(options.codec.encode(data))
          : toBytes(data as Data | undefined);
      plain =
        options.protected || options.createParents ? undefined : this.run.plainAttempt('create', options);
      if (plain === undefined) {
        const created = this.createAttempts(path, bytes, options);
        return answerRetried === undefined ? (created as Promise<T>) : created.then(answerRetried);
      }
      request = createOp(this.run.serverPath(path), bytes, options) as ClientRequest & { op: 'create' };
    } catch (error) {
      return Promise.reject(error);
    }
    return this.run.sendMapped(request, plain, path, answer);
  }

  private createAttempts(
    path: string,
    bytes: Uint8Array | null,
    options: CreateNodeOptions,
  ): Promise<{ path: string; stat: Stat }> {
    return this.run.perform('create', path, options, false, async (scope, policy) => {
      const protectedId = options.protected ? this.protectedId() : undefined;
      const named = protectedId === undefined ? path : protectedPath(path, protectedId);
      const request = createOp(this.run.serverPath(named), bytes, options) as ClientRequest & {
        op: 'create';
      };
      const sequential = sequentialModes.has(request.mode);
      const ephemeral = ephemeralModes.has(request.mode);
      const safety: Safety = sequential && protectedId === undefined ? 'unsafe' : 'guarded';
      const conflict: Conflict<{ path: string; stat: Stat }> | undefined = sequential
        ? undefined
        : {
            codes: ['NodeExists'],
            // Curator's idempotent create: the node is at version 0 and holds our data.
            resolve: async () => {
              const found = await this.run.send(
                { op: 'getData', path: request.path, watch: false },
                scope,
                named,
              );
              const ours =
                found.stat.version === 0 &&
                bytesEqual(found.data, bytes) &&
                (!ephemeral || found.stat.ephemeralOwner === this.session.sessionId);
              return ours ? { value: { path: named, stat: found.stat } } : undefined;
            },
          };
      const created = await this.run.withRetries(
        scope,
        policy,
        safety,
        async (earlierMayHaveApplied) => {
          if (protectedId !== undefined && earlierMayHaveApplied) {
            const found = await findProtected(this.run, request.path, protectedId, ephemeral, scope);
            if (found !== undefined) return found;
          }
          return this.createWithParents(request, named, options, scope);
        },
        conflict,
      );
      return { path: this.run.clientPath(created.path), stat: created.stat };
    });
  }

  /**
   * A random id in UUID form, drawn from the client's source of chance (the `random` option;
   * `crypto.randomUUID` without one). Recipes name their nodes with it, so that a client given
   * a seeded source (the simulator's) names them alike on every run.
   */
  randomId(): string {
    return this.options.random === undefined ? crypto.randomUUID() : randomUuid(this.options.random);
  }

  private protectedId(): string {
    return this.randomId();
  }

  private async createWithParents(
    request: ClientRequest & { op: 'create' },
    clientPath: string,
    options: CreateNodeOptions,
    scope: OperationScope,
  ): Promise<{ path: string; stat: Stat }> {
    try {
      return await this.run.send(request, scope, clientPath);
    } catch (error) {
      if (!options.createParents || !isCode(error, ['NoNode'])) throw error;
    }
    const mode = options.createParents === 'persistent' ? 'persistent' : 'container';
    await makeParents(this.run, parentOf(request.path), mode, options.acl ?? Ids.openAclUnsafe, scope);
    return this.run.send(request, scope, clientPath);
  }

  /** Deletes a znode; with a version (a number, or `{ version }`) only at that version. */
  async delete(path: string, versionOrOptions?: number | VersionOptions): Promise<void> {
    const version = versionOf(versionOrOptions);
    const serverPath = this.run.serverPath(path);
    await this.run.perform('delete', path, optionsOf(versionOrOptions), false, (scope, policy) =>
      this.run.withRetries(
        scope,
        policy,
        version >= 0 ? 'guarded' : 'unsafe',
        () => this.run.send({ op: 'delete', path: serverPath, version }, scope, path),
        // Curator's idempotent (quiet) delete: gone is what was asked for.
        { codes: ['NoNode'], resolve: async () => ({ value: {} }) },
      ),
    );
  }

  /**
   * Deletes `path` and everything below it, deepest first, in multis of `batchSize` deletes
   * (ZooKeeper's deleteall). Children added meanwhile are found and deleted too; NoNode when
   * `path` does not exist.
   */
  async deleteRecursive(path: string, options: DeleteRecursiveOptions = {}): Promise<void> {
    const batchSize = options.batchSize ?? 1000;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError('batchSize must be a positive integer');
    const serverPath = this.run.serverPath(path);
    await this.run.perform('deleteRecursive', path, options, false, (scope, policy) =>
      this.run.withRetries(scope, policy, 'safe', (earlierMayHaveApplied) =>
        deleteSubtree(this.run, serverPath, path, batchSize, scope, earlierMayHaveApplied),
      ),
    );
  }

  /** The node's Stat, or null when it does not exist. A watch fires on create, change or delete. */
  async exists(path: string, options: WatchOptions = {}): Promise<Stat | null> {
    const watch = options.watch;
    const serverPath = this.run.serverPath(path);
    return this.run.perform('exists', path, options, true, (scope, policy) =>
      this.run.withRetries(scope, policy, 'safe', async () => {
        const reply = await this.session.call(
          { op: 'exists', path: serverPath, watch: watch !== undefined },
          (reply) => {
            if (watch === undefined) return;
            if (reply.ok) this.session.watches.add('data', serverPath, watch, this.root);
            else if (reply.code === ErrorCode.NoNode)
              this.session.watches.add('exist', serverPath, watch, this.root);
          },
          scope,
          path,
        );
        if (reply.ok) return (reply.result as ResultByOp['exists']).stat;
        if (reply.code === ErrorCode.NoNode) return null;
        throw new ZabError(reply.code, path);
      }),
    );
  }

  /**
   * A znode's data and Stat; `watch` leaves a one-shot data watch. The data is null when the
   * node was created or last set with null, as ZooKeeper answers. Consistency: ZooKeeper's,
   * per session in order: the committed state of the replica of the server this client is
   * connected to, answered after every earlier request of this session (a read after this
   * session's write sees it); another session's latest write may not be there yet (`sync`
   * first for that). The bytes are the caller's own, in process too (copied out of the replica).
   */
  getData(path: string, options?: GetDataOptions): Promise<{ data: Uint8Array | null; stat: Stat }>;
  /** A znode's data decoded by `options.codec`, and its Stat. */
  getData<T>(path: string, options: GetDataOptions & CodecOption<T>): Promise<{ data: T; stat: Stat }>;
  getData(
    path: string,
    options: GetDataOptions & Partial<CodecOption<unknown>> = {},
  ): Promise<{ data: unknown; stat: Stat }> {
    let serverPath: string;
    try {
      serverPath = this.run.serverPath(path);
    } catch (error) {
      return Promise.reject(error);
    }
    const read = this.run.read(
      { op: 'getData', path: serverPath, watch: options.watch !== undefined },
      path,
      options,
      this.run.watchRegistration('data', serverPath, options.watch),
    );
    const codec = options.codec;
    // Without a codec the reply's result is the answer: a fresh object per reply.
    if (codec === undefined) return read;
    return read.then(({ data, stat }) => ({ data: codec.decode(codecBytes(data)), stat }));
  }

  /**
   * A znode's data and Stat answered at once, without a promise, from the replica of the
   * server this client is connected to; only when that server runs in this process
   * (`LocalServer`, `startEnsemble`, an embedded peer's client). Consistency: that replica's
   * applied (committed) state as of its last step, with the same ACL checks as `getData`: it
   * holds every write whose reply this client has had from it, and never goes back while the
   * client stays connected to it; it does not wait for this session's requests still in
   * flight, and leaves no watch. The bytes are the caller's own (copied out of the replica),
   * as `getData`'s are. Throws ZabError: NoNode, NoAuth, ConnectionLoss (or
   * SessionExpired) while not connected, Unimplemented over a TCP connection.
   */
  getDataNow(path: string): { data: Uint8Array | null; stat: Stat } {
    const reply = this.session.readNow(
      { op: 'getData', path: this.run.serverPath(path), watch: false },
      path,
    );
    if (!reply.ok) throw new ZabError(reply.code, path);
    return reply.result as ResultByOp['getData'];
  }

  /** `exists` answered at once, as `getDataNow` is: the Stat, or null when there is no node. */
  existsNow(path: string): Stat | null {
    const reply = this.session.readNow({ op: 'exists', path: this.run.serverPath(path), watch: false }, path);
    if (reply.ok) return (reply.result as ResultByOp['exists']).stat;
    if (reply.code === ErrorCode.NoNode) return null;
    throw new ZabError(reply.code, path);
  }

  /** The children's names answered at once, as `getDataNow` is, listed as `getChildren` lists them. */
  getChildrenNow(path: string): string[] {
    const reply = this.session.readNow(
      { op: 'getChildren', path: this.run.serverPath(path), watch: false },
      path,
    );
    if (!reply.ok) throw new ZabError(reply.code, path);
    return [...(reply.result as ResultByOp['getChildren']).children];
  }

  /** Sets a node's data, at `version` (a number, or `{ version }`; -1: any). Resolves with the new Stat. */
  setData(path: string, data: Data, versionOrOptions?: number | SetDataOptions): Promise<Stat>;
  /** Sets a node's data to `value` as `options.codec` encodes it. */
  setData<T>(path: string, value: T, options: SetDataOptions & CodecOption<T>): Promise<Stat>;
  setData(
    path: string,
    data: unknown,
    versionOrOptions?: number | (SetDataOptions & Partial<CodecOption<unknown>>),
  ): Promise<Stat> {
    const options = optionsOf(versionOrOptions);
    const bytes = options?.codec !== undefined ? ownBytes(options.codec.encode(data)) : toBytes(data as Data);
    const version = versionOf(versionOrOptions);
    // One plain attempt (no signal, deadline, retries or tracing) needs none of perform's closures.
    if (this.run.isPlain('setData', options)) {
      let serverPath: string;
      try {
        serverPath = this.run.serverPath(path);
      } catch (error) {
        return Promise.reject(error);
      }
      const plain = this.run.plainAttempt('setData', options)!;
      return this.run.sendMapped(
        { op: 'setData', path: serverPath, data: bytes, version },
        plain,
        path,
        statOf,
      );
    }
    return this.run.perform('setData', path, options, false, (scope, policy) =>
      this.setDataAttempts(path, bytes, version, scope, policy),
    );
  }

  /** A versioned setData with Curator's idempotent check, or an unconditional one (never retried). */
  private setDataAttempts(
    path: string,
    bytes: Uint8Array | null,
    version: number,
    scope: OperationScope,
    policy: RetryPolicy | undefined,
  ): Promise<Stat> {
    const serverPath = this.run.serverPath(path);
    const attempt = () =>
      this.run.sendMapped({ op: 'setData', path: serverPath, data: bytes, version }, scope, path, statOf);
    // Only a retried versioned write ever asks whether its earlier attempt was applied.
    if (policy === undefined || version < 0) return this.run.withRetries(scope, policy, 'unsafe', attempt);
    return this.run.withRetries(scope, policy, 'guarded', attempt, {
      codes: ['BadVersion'],
      // Curator's idempotent setData: one version later, holding exactly our data.
      resolve: async () => {
        const found = await this.run.send({ op: 'getData', path: serverPath, watch: false }, scope, path);
        return found.stat.version === version + 1 && bytesEqual(found.data, bytes)
          ? { value: found.stat }
          : undefined;
      },
    });
  }

  /**
   * A compare-and-set loop: reads the node, calls `updater` with its value and Stat, and writes
   * the result at the version read; on BadVersion (another writer came first) it reads again and
   * calls `updater` again. Returning `undefined` writes nothing. A write whose outcome is unknown
   * is checked, never repeated blindly, so an increment is applied once.
   */
  update(
    path: string,
    updater: (current: Uint8Array | null, stat: Stat) => Data | undefined | Promise<Data | undefined>,
    options?: UpdateOptions,
  ): Promise<UpdateResult<Uint8Array | null>>;
  /** The compare-and-set loop over values decoded and encoded by `options.codec`. */
  update<T>(
    path: string,
    updater: (current: T, stat: Stat) => T | undefined | Promise<T | undefined>,
    options: UpdateOptions & CodecOption<T>,
  ): Promise<UpdateResult<T>>;
  update(
    path: string,
    updater: (current: never, stat: Stat) => unknown,
    options: UpdateOptions & Partial<CodecOption<unknown>> = {},
  ): Promise<UpdateResult<unknown>> {
    const codec = options.codec;
    const conflictsMax = options.conflictsMax ?? 100;
    const serverPath = this.run.serverPath(path);
    return this.run.perform('update', path, options, false, async (scope, policy) => {
      for (let conflicts = 0; ; conflicts++) {
        const read = await this.run.withRetries(scope, policy, 'safe', () =>
          this.run.send({ op: 'getData', path: serverPath, watch: false }, scope, path),
        );
        const current = codec === undefined ? read.data : codec.decode(codecBytes(read.data));
        const next = await updater(current as never, read.stat);
        if (next === undefined) return { updated: false, value: current, stat: read.stat };
        const bytes = codec === undefined ? toBytes(next as Data) : ownBytes(codec.encode(next));
        try {
          const stat = await this.setDataAttempts(path, bytes, read.stat.version, scope, policy);
          // The bytes sent are the server's now (in process, the znode's own): the caller gets a copy.
          return { updated: true, value: codec === undefined ? ownBytes(bytes) : next, stat };
        } catch (error) {
          if (!isCode(error, ['BadVersion']) || conflicts + 1 >= conflictsMax) throw error;
        }
      }
    });
  }

  /** The names of a znode's children, sorted; `watch` leaves a one-shot child watch. */
  async getChildren(path: string, options: WatchOptions = {}): Promise<string[]> {
    return [...(await this.getChildrenWithStat(path, options)).children];
  }

  /** The children with the parent's Stat (ZooKeeper's getChildren2). */
  getChildrenWithStat(
    path: string,
    options: WatchOptions = {},
  ): Promise<{ children: readonly string[]; stat: Stat }> {
    const serverPath = this.run.serverPath(path);
    return this.run.read(
      { op: 'getChildren', path: serverPath, watch: options.watch !== undefined },
      path,
      options,
      this.run.watchRegistration('child', serverPath, options.watch),
    );
  }

  /** The number of nodes below `path`, at any depth. */
  async getAllChildrenNumber(path: string, options?: OperationOptions): Promise<number> {
    return (
      await this.run.read({ op: 'getAllChildrenNumber', path: this.run.serverPath(path) }, path, options)
    ).totalNumber;
  }

  /**
   * This session's ephemeral nodes whose paths start with `prefixPath`. Under a chroot both
   * the prefix and the answers are translated (ZooKeeper's Java client translates neither).
   */
  async getEphemerals(prefixPath = '/', options?: OperationOptions): Promise<string[]> {
    const { ephemerals } = await this.run.read(
      { op: 'getEphemerals', prefixPath: this.run.serverPath(prefixPath) },
      prefixPath,
      options,
    );
    return ephemerals.map((path) => this.run.clientPath(path));
  }

  /** A znode's ACL and Stat; needs READ or ADMIN on it. */
  getACL(path: string, options?: OperationOptions): Promise<{ acl: readonly ACL[]; stat: Stat }> {
    return this.run.read({ op: 'getACL', path: this.run.serverPath(path) }, path, options);
  }

  /** Replaces a znode's ACL at ACL version `version` (a number, or `{ version }`; -1: any). Answers the new Stat. */
  async setACL(path: string, acl: readonly ACL[], versionOrOptions?: number | VersionOptions): Promise<Stat> {
    const version = versionOf(versionOrOptions);
    const serverPath = this.run.serverPath(path);
    return this.run.perform('setACL', path, optionsOf(versionOrOptions), false, async (scope, policy) => {
      const result = await this.run.withRetries(
        scope,
        policy,
        version >= 0 ? 'guarded' : 'unsafe',
        () => this.run.send({ op: 'setACL', path: serverPath, acl, version }, scope, path),
        { codes: ['BadVersion'], resolve: async () => undefined },
      );
      return result.stat;
    });
  }

  /** Waits until this server has every write committed before the call (then reads are fresher). */
  async sync(path = '/', options?: OperationOptions): Promise<void> {
    await this.run.read({ op: 'sync', path: this.run.serverPath(path) }, path, options);
  }

  /**
   * The ensemble's configuration: `/zookeeper/config`'s text, version and Stat (ZooKeeper's
   * getConfig). The node is read where it is, whatever this client's chroot or namespace;
   * `watch` leaves a one-shot data watch on it, whose event names `/zookeeper/config`. As with
   * any read, `sync()` first for the newest committed configuration.
   */
  async getConfig(options: GetDataOptions = {}): Promise<EnsembleConfigReading> {
    const onReply =
      options.watch === undefined
        ? undefined
        : (reply: Reply) => {
            if (reply.ok) this.session.watches.add('data', configPath, options.watch!, rootPath);
          };
    const { data, stat } = await this.run.read(
      { op: 'getData', path: configPath, watch: options.watch !== undefined },
      configPath,
      options,
      onReply,
    );
    return configReading(data, stat);
  }

  /**
   * Changes the ensemble's membership (ZooKeeper's reconfig, opcode 16) and resolves with the
   * new configuration once it is committed. Incremental: `joining` servers and `leaving` ids;
   * whole: `newMembers`. The leader refuses with ZooKeeper's codes: ReconfigDisabled (the
   * ensemble runs without reconfigEnabled), NoAuth (the session may not write
   * `/zookeeper/config`: by default only the super user may), BadVersion (`fromConfig` is not
   * the current version), NewConfigNoQuorum (no quorum of the new membership is connected and
   * synced), ReconfigInProgress, BadArguments (a malformed line, or too few voters left).
   * Never retried: a lost reply leaves it unknown whether the change was made (read
   * `getConfig`, or pass `fromConfig` so that a repeat cannot apply twice).
   *
   * @throws RangeError when `newMembers` is given with `joining` or `leaving`
   */
  async reconfig(change: ReconfigOptions): Promise<EnsembleConfigReading> {
    const list = (value: string | readonly (string | number)[] | undefined) =>
      value === undefined ? null : typeof value === 'string' ? value : value.join(',');
    const joiningServers = list(change.joining);
    const leavingServers = list(change.leaving);
    const newMembers = list(change.newMembers);
    if (newMembers !== null && (joiningServers !== null || leavingServers !== null))
      throw new RangeError(
        'reconfig: newMembers replaces the membership; it cannot go with joining or leaving',
      );
    const request = {
      op: 'reconfig',
      joiningServers,
      leavingServers,
      newMembers,
      fromConfig: change.fromConfig ?? -1n,
    } as const;
    const { data, stat } = await this.run.perform('reconfig', undefined, change, false, (scope) =>
      this.run.send(request, scope, undefined),
    );
    return configReading(data, stat);
  }

  /** Starts a transaction: ops added to it are committed all together or not at all. */
  transaction(): Transaction {
    return new Transaction((ops, options) => this.multi(ops, options));
  }

  /**
   * Runs ops atomically. A failure rejects with a TransactionError holding every op's result.
   * Retried only when an op in it cannot apply twice (a versioned setData or delete, or a
   * non-sequential create), so the whole multi cannot.
   */
  async multi(ops: readonly MultiOp[], options?: OperationOptions): Promise<readonly OpResult[]> {
    const serverOps = ops.map((op) => ({ ...op, path: this.run.serverPath(op.path) }));
    const guarded = ops.some(
      (op) =>
        ((op.op === 'setData' || op.op === 'delete') && op.version >= 0) ||
        (op.op === 'create' && !sequentialModes.has(op.mode)),
    );
    return this.run.perform('multi', ops[0]?.path, options, false, (scope, policy) =>
      this.run.withRetries(scope, policy, guarded ? 'guarded' : 'unsafe', async (earlierMayHaveApplied) => {
        const { results } = await this.run.send({ op: 'multi', ops: serverOps }, scope, undefined);
        const translated = results.map((result) =>
          result.op === 'create' ? { ...result, path: this.run.clientPath(result.path) } : result,
        );
        try {
          return checkMultiResults(ops, translated);
        } catch (error) {
          // A failed multi after a loss: it may be the first attempt's own doing.
          if (earlierMayHaveApplied)
            throw outcomeUnknown(
              ops[0]?.path,
              'a retried multi failed after a connection loss: the first attempt may have been applied',
              error,
            );
          throw error;
        }
      }),
    );
  }

  /** Several reads answered from one state; each op succeeds or fails on its own. */
  async multiRead(ops: readonly MultiReadOp[], options?: OperationOptions): Promise<readonly OpResult[]> {
    const serverOps = ops.map((op) => ({ ...op, path: this.run.serverPath(op.path) }));
    return (await this.run.read({ op: 'multiRead', ops: serverOps }, ops[0]?.path, options)).results;
  }

  // ---- authentication -----------------------------------------------------------------

  /** Adds credentials to the session, e.g. `addAuth('digest', 'user:password')`. */
  async addAuth(scheme: string, auth: Data, options?: OperationOptions): Promise<void> {
    const bytes = toBytes(auth) ?? noBytes;
    await this.run.read({ op: 'auth', scheme, auth: bytes }, undefined, options);
    this.session.rememberAuthentication(scheme, bytes);
  }

  /** The identities this session has authenticated as (ZooKeeper's whoAmI). */
  async whoAmI(options?: OperationOptions): Promise<readonly { authScheme: string; user: string }[]> {
    return (await this.run.read({ op: 'whoAmI' }, undefined, options)).clientInfo;
  }

  // ---- watches ------------------------------------------------------------------------

  /** Adds a persistent watch: `listener` sees every change until the watch is removed. */
  async addWatch(
    path: string,
    listener: WatchListener,
    options: { recursive?: boolean } & OperationOptions = {},
  ): Promise<void> {
    const recursive = options.recursive ?? false;
    const serverPath = this.run.serverPath(path);
    await this.run.read(
      {
        op: 'addWatch',
        path: serverPath,
        mode: recursive ? AddWatchMode.PersistentRecursive : AddWatchMode.Persistent,
      },
      path,
      options,
      this.run.watchRegistration(recursive ? 'persistentRecursive' : 'persistent', serverPath, listener),
    );
  }

  /**
   * A persistent watch as an async iterator:
   * `for await (const event of zk.watch('/config', { recursive: true })) { ... }`.
   * Leaving the loop removes the watch.
   */
  watch(path: string, options: { recursive?: boolean; signal?: AbortSignal } = {}): WatchStream {
    const recursive = options.recursive;
    return new WatchStream({
      start: (listener) => this.addWatch(path, listener, { recursive }),
      stop: (listener) =>
        this.removeWatches(path, recursive ? 'persistentRecursive' : 'persistent', listener).catch(
          () => undefined,
        ),
      onState: (listener) => this.onStateChange(listener),
      signal: options.signal,
    });
  }

  /**
   * Removes watches of `type` at `path`: only `listener` when given (the server's watch goes
   * once no listener of that kind is left), otherwise all of them.
   */
  async removeWatches(
    path: string,
    type: WatcherTypeName,
    listener?: WatchListener,
    options?: OperationOptions,
  ): Promise<void> {
    const serverPath = this.run.serverPath(path);
    const watches = this.session.watches;
    const kinds = watches.kindsFor(watcherTypeNumber(type));
    if (listener !== undefined) {
      const removed = kinds.map((kind) => watches.remove(kind, serverPath, listener)).some(Boolean);
      if (!removed) throw new ZabError(ErrorCode.NoWatcher, path);
      if (kinds.some((kind) => watches.has(kind, serverPath))) return;
    }
    // Only the listeners there now go, and as the reply arrives, in order with other replies: a
    // watch set again meanwhile (a getData with a watch right after) must survive the removal.
    const doomed = kinds.map((kind) => [kind, watches.listeners(kind, serverPath)] as const);
    const onReply = (reply: Reply) => {
      if (!reply.ok && reply.code !== ErrorCode.NoWatcher) return;
      for (const [kind, listeners] of doomed)
        for (const gone of listeners) watches.remove(kind, serverPath, gone);
      // A watch set before the removal reached the server went with it: set it again.
      this.session.rearm(kinds, serverPath);
    };
    await this.run.perform('removeWatches', path, options, true, (scope, policy) =>
      this.run.withRetries(
        scope,
        policy,
        'guarded',
        () =>
          this.run.send(
            { op: 'removeWatches', path: serverPath, watcherType: watcherTypeNumber(type) },
            scope,
            path,
            onReply,
          ),
        { codes: ['NoWatcher'], resolve: async () => ({ value: {} }) },
      ),
    );
  }

  /** Resolves when the server holds a watch of `type` at `path`; rejects with NoWatcher otherwise. */
  async checkWatches(path: string, type: WatcherTypeName, options?: OperationOptions): Promise<void> {
    await this.run.read(
      { op: 'checkWatches', path: this.run.serverPath(path), watcherType: watcherTypeNumber(type) },
      path,
      options,
    );
  }

  /** True when this client has a listener of `kind` registered at `path`. */
  hasWatch(kind: WatchKind, path: string): boolean {
    return this.session.watches.has(kind, this.run.serverPath(path));
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /** Closes the session (of every view of it): its ephemerals are deleted and its watches dropped. */
  close(): Promise<void> {
    return this.session.close();
  }

  /** `await using zk = await connectTcp(...)` closes the session at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Drops the current link as if the network failed; the client reconnects on its own. */
  simulateConnectionLoss(): void {
    this.session.simulateConnectionLoss();
  }
}

export type { ClientOptions } from './options.js';
export type { ClientState, StateListener };
export { Ids };
