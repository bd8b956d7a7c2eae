/**
 * The shell's commands, in the manner of zkCli.sh 3.8: the same names, flags, messages and
 * output, on zabkit's client. Each command writes through its context and throws to fail.
 */
import {
  type CreateOptions,
  type WatcherTypeName,
  type WatchListener,
  type ZabClient,
  ZabError,
} from '@zabkit/client';
import { zabkitVersion } from '../node.js';
import { parseProperties } from '../properties.js';
import { describeError, ShellError } from './errors.js';
import { formatAcl, formatList, formatStat, parseAcl } from './format.js';
import { delquota, listquota, setquota } from './quota-commands.js';
import { reconfigOptions, runReconfig } from './reconfig-command.js';
import { type FlagSpec, type ParsedWords, parseFlags } from './words.js';

/** What a command runs against: the session, the output, and the shell's own state. */
export interface ShellContext {
  /** The open session; throws `Not connected` when there is none. */
  client(): ZabClient;
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error: what zkCli prints there besides errors (`Created /path`). */
  err(text: string): void;
  /** A listener that prints a watch event as zkCli does (`WATCHER::` ...), unless printwatches is off. */
  watcher(): WatchListener;
  /** Whether watch events are printed (`printwatches on|off`). */
  printWatches: boolean;
  /** Every command line run so far, by number; the command running now is the last. */
  readonly history: readonly string[];
  /** Opens a session to another server list (`connect host:port`), or the same one again. */
  connect(target?: string): Promise<void>;
  /** Closes the session (`close`). */
  close(): Promise<void>;
  /** Ends the shell after this command (`quit`). */
  quit(): void;
  /** Runs command number `index` again in place of the current one (`redo n`). */
  redo(index: number): Promise<void>;
}

/** One shell command: its option string for usage lines, and what it does. */
export interface Command {
  /** The options and arguments after the name, as zkCli's help lists them: `[-s] [-w] path`. */
  readonly options: string;
  /** Runs with the words after the name; rejects to fail, with the message the user sees. */
  run(ctx: ShellContext, args: readonly string[]): Promise<void>;
}

/** `name options`, the usage line zkCli prints for a malformed command. */
export function usageOf(name: string): string {
  const command = commands[name];
  return command === undefined ? name : `${name} ${command.options}`.trimEnd();
}

/** Parses a command's words and checks the number of positional ones; wrong counts fail with its usage. */
function words(name: string, args: readonly string[], spec: FlagSpec, min: number, max = min): ParsedWords {
  const parsed = parseFlags(args, spec);
  if (parsed.rest.length < min || parsed.rest.length > max) throw new ShellError(usageOf(name));
  return parsed;
}

/** zkCli's check of a path argument (PathUtils.validatePath's first rule). */
function checkPath(path: string): string {
  if (!path.startsWith('/')) throw new ShellError('Path must start with / character');
  return path;
}

function integer(value: string | true | undefined, fallback: number, message: string): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isSafeInteger(number))
    throw new ShellError(message);
  return number;
}

const versionOf = (flags: ParsedWords['flags']) => integer(flags.get('v'), -1, `version must be an integer`);

const decoder = new TextDecoder();
const childPath = (parent: string, child: string) => (parent === '/' ? `/${child}` : `${parent}/${child}`);
const sorted = (names: readonly string[]) => [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * ZooKeeper's ZKUtil.visitSubTreeDFS, the order `ls -R` prints and `setAcl -R` visits: the
 * path, then its children in sorted order, then each child's subtree in turn. Nodes deleted
 * meanwhile are skipped; a missing start path fails with NoNode.
 */
export async function visitSubtree(
  zk: ZabClient,
  path: string,
  visit: (path: string) => void | Promise<void>,
  watch?: WatchListener,
): Promise<void> {
  await zk.getData(path, watch === undefined ? {} : { watch });
  await visit(path);
  const below = async (parent: string): Promise<void> => {
    let children: string[];
    try {
      children = sorted(await zk.getChildren(parent, watch === undefined ? {} : { watch }));
    } catch (error) {
      if (error instanceof ZabError && error.codeName === 'NoNode') return;
      throw error;
    }
    for (const child of children) await visit(childPath(parent, child));
    for (const child of children) await below(childPath(parent, child));
  };
  await below(path);
}

/** Every path under `path`, itself first, breadth first (ZKUtil.listSubTreeBFS, as deleteall uses). */
export async function listSubtree(zk: ZabClient, path: string): Promise<string[]> {
  const paths = [path];
  for (let i = 0; i < paths.length; i++) {
    for (const child of await zk.getChildren(paths[i]!)) paths.push(childPath(paths[i]!, child));
  }
  return paths;
}

/**
 * Deletes `paths` in order, `batchSize` to a multi, as ZooKeeper's ZKUtil.deleteRecursive
 * does for `deleteall -b`: each batch is all or nothing, and the first that fails stops the
 * rest (false). A batch size of 0 or less puts every path in one multi, as ZooKeeper's loop
 * does.
 */
export async function deleteInBatches(
  zk: ZabClient,
  paths: readonly string[],
  batchSize: number,
): Promise<boolean> {
  const size = batchSize > 0 ? batchSize : Math.max(1, paths.length);
  for (let start = 0; start < paths.length; start += size) {
    const batch = zk.transaction();
    for (const path of paths.slice(start, start + size)) batch.delete(path);
    try {
      await batch.commit();
    } catch (error) {
      if (error instanceof ZabError) return false;
      throw error;
    }
  }
  return true;
}

/** Java's String.hashCode, over UTF-16 code units, as a 32-bit int. */
function javaHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(31, hash) + text.charCodeAt(i)) | 0;
  return hash;
}

/**
 * Keys in the order java.util.Properties (a ConcurrentHashMap since Java 9) walks them: by
 * bucket, the table 16 buckets at first and doubled whenever it is three quarters full, and in
 * insertion order within a bucket. zkCli's `config -c` prints servers in this order.
 */
function propertiesOrder(keys: readonly string[]): string[] {
  let buckets = 16;
  for (let count = 1; count <= keys.length; count++) if (count >= buckets * 0.75) buckets *= 2;
  const bucketOf = (key: string) => {
    const hash = javaHashCode(key);
    return (hash ^ (hash >>> 16)) & 0x7fffffff & (buckets - 1);
  };
  return keys
    .map((key, index) => ({ key, index, bucket: bucketOf(key) }))
    .sort((a, b) => a.bucket - b.bucket || a.index - b.index)
    .map((entry) => entry.key);
}

/**
 * What zkCli's `config -c` prints (ConfigUtils.getClientConfigStr): the config's version, a
 * space, and each server's client address `host:port` (empty for a server whose line gives
 * none), comma-separated, in the order java.util.Properties holds the lines.
 */
export function clientConfigString(configText: string): string {
  const values = new Map<string, string>();
  for (const { key, value } of parseProperties(configText)) values.set(key, value);
  let version = '';
  const clients: string[] = [];
  for (const key of propertiesOrder([...values.keys()])) {
    const value = values.get(key)!;
    if (key === 'version') version = value;
    if (!key.startsWith('server.')) continue;
    const client = value.split(';')[1]?.trim();
    if (client === undefined || client === '') {
      clients.push('');
      continue;
    }
    // InetSocketAddress.getHostString: an IPv6 host without its brackets.
    const colon = client.lastIndexOf(':');
    const host = colon < 0 ? '0.0.0.0' : client.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    clients.push(`${host}:${client.slice(colon + 1)}`);
  }
  return `${version} ${clients.join(',')}`;
}

const removeTypes: Readonly<Record<string, WatcherTypeName>> = {
  c: 'children',
  d: 'data',
  p: 'persistent',
  r: 'persistentRecursive',
  a: 'any',
};

/** The command table, by name. */
export const commands: Readonly<Record<string, Command>> = {
  ls: {
    options: '[-s] [-w] [-R] path',
    async run(ctx, args) {
      const { flags, rest } = words('ls', args, { switches: 'swR' }, 1);
      const path = checkPath(rest[0]!);
      const zk = ctx.client();
      const watch = flags.has('w') ? ctx.watcher() : undefined;
      if (flags.has('R')) {
        await visitSubtree(zk, path, (at) => ctx.out(`${at}\n`), watch);
        return;
      }
      const { children, stat } = await zk.getChildrenWithStat(path, watch === undefined ? {} : { watch });
      ctx.out(`${formatList(sorted(children))}\n`);
      if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
    },
  },
  get: {
    options: '[-s] [-w] path',
    async run(ctx, args) {
      const { flags, rest } = words('get', args, { switches: 'sw' }, 1);
      const watch = flags.has('w') ? { watch: ctx.watcher() } : {};
      const { data, stat } = await ctx.client().getData(checkPath(rest[0]!), watch);
      // zkCli prints null data as `null`, empty data as an empty line.
      ctx.out(`${data === null ? 'null' : decoder.decode(data)}\n`);
      if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
    },
  },
  stat: {
    options: '[-w] path',
    async run(ctx, args) {
      const { flags, rest } = words('stat', args, { switches: 'w' }, 1);
      const path = checkPath(rest[0]!);
      const stat = await ctx.client().exists(path, flags.has('w') ? { watch: ctx.watcher() } : {});
      if (stat === null) throw new ShellError(`Node does not exist: ${path}`);
      ctx.out(`${formatStat(stat)}\n`);
    },
  },
  create: {
    options: '[-s] [-e] [-c] [-t ttl] path [data] [acl]',
    async run(ctx, args) {
      const { flags, rest } = words('create', args, { switches: 'sec', values: 't' }, 1, 3);
      const [path, data, acl] = rest as [string, string?, string?];
      const sequential = flags.has('s');
      const ephemeral = flags.has('e');
      const container = flags.has('c');
      const ttlFlag = flags.get('t');
      if (container && (ephemeral || sequential))
        throw new ShellError(
          '-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.',
        );
      const ttlMs = integer(ttlFlag, 0, '-t argument must be a long value');
      if (ttlFlag !== undefined && ephemeral)
        throw new ShellError('TTLs cannot be used with Ephemeral znodes');
      if (ttlFlag !== undefined && container)
        throw new ShellError('TTLs cannot be used with Container znodes');
      if (ttlFlag !== undefined && ttlMs <= 0) throw new ShellError(`ttl must be positive: ${ttlMs}`);
      let mode: CreateOptions['mode'];
      if (ephemeral) mode = sequential ? 'ephemeralSequential' : 'ephemeral';
      else if (container) mode = 'container';
      else if (ttlFlag !== undefined) mode = sequential ? 'persistentSequentialWithTtl' : 'persistentWithTtl';
      else mode = sequential ? 'persistentSequential' : 'persistent';
      const options: CreateOptions = {
        mode,
        ...(ttlFlag === undefined ? {} : { ttlMs }),
        ...(acl === undefined ? {} : { acl: parseAcl(acl) }),
      };
      const created = await ctx.client().create(checkPath(path), data ?? null, options);
      // zkCli prints this on standard error.
      ctx.err(`Created ${created}\n`);
    },
  },
  set: {
    options: '[-s] [-v version] path data',
    async run(ctx, args) {
      const { flags, rest } = words('set', args, { switches: 's', values: 'v' }, 2);
      const stat = await ctx.client().setData(checkPath(rest[0]!), rest[1]!, versionOf(flags));
      if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
    },
  },
  delete: {
    options: '[-v version] path',
    async run(ctx, args) {
      const { flags, rest } = words('delete', args, { values: 'v' }, 1);
      await ctx.client().delete(checkPath(rest[0]!), versionOf(flags));
    },
  },
  deleteall: {
    options: 'path [-b batch size]',
    async run(ctx, args) {
      const { flags, rest } = words('deleteall', args, { values: 'b' }, 1);
      const batchSize = integer(flags.get('b'), 1000, '-b argument must be an int value');
      const path = checkPath(rest[0]!);
      const zk = ctx.client();
      const paths = await listSubtree(zk, path);
      // The root and /zookeeper cannot go: deleteall / empties the tree around them.
      const doomed =
        path === '/' ? paths.filter((at) => at !== '/' && !/^\/zookeeper(\/|$)/.test(at)) : paths;
      if (!(await deleteInBatches(zk, doomed.reverse(), batchSize)))
        throw new ShellError('Failed to delete some node(s) in the subtree!');
    },
  },
  getAcl: {
    options: '[-s] path',
    async run(ctx, args) {
      const { flags, rest } = words('getAcl', args, { switches: 's' }, 1);
      const { acl, stat } = await ctx.client().getACL(checkPath(rest[0]!));
      ctx.out(`${formatAcl(acl)}\n`);
      if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
    },
  },
  setAcl: {
    options: '[-s] [-v version] [-R] path acl',
    async run(ctx, args) {
      const { flags, rest } = words('setAcl', args, { switches: 'sR', values: 'v' }, 2);
      const path = checkPath(rest[0]!);
      const acl = parseAcl(rest[1]!);
      const version = versionOf(flags);
      const zk = ctx.client();
      if (!flags.has('R')) {
        const stat = await zk.setACL(path, acl, version);
        if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
        return;
      }
      // As zkCli: every node of the subtree, carrying on past a node that refuses.
      const failed: string[] = [];
      await visitSubtree(zk, path, async (at) => {
        await zk.setACL(at, acl, version).catch((error: unknown) => failed.push(describeError(error, at)));
      });
      if (failed.length > 0) throw new ShellError(failed.join('\n'));
    },
  },
  addauth: {
    options: 'scheme auth',
    async run(ctx, args) {
      const { rest } = words('addauth', args, {}, 1, 2);
      await ctx.client().addAuth(rest[0]!, rest[1] ?? '');
    },
  },
  sync: {
    options: 'path',
    async run(ctx, args) {
      const { rest } = words('sync', args, {}, 1);
      await ctx.client().sync(checkPath(rest[0]!));
      ctx.out('Sync is OK\n');
    },
  },
  getAllChildrenNumber: {
    options: 'path',
    async run(ctx, args) {
      const { rest } = words('getAllChildrenNumber', args, {}, 1);
      ctx.out(`${await ctx.client().getAllChildrenNumber(checkPath(rest[0]!))}\n`);
    },
  },
  getEphemerals: {
    options: 'path',
    async run(ctx, args) {
      const { rest } = words('getEphemerals', args, {}, 0, 1);
      const ephemerals = await ctx.client().getEphemerals(rest[0] === undefined ? '/' : checkPath(rest[0]));
      ctx.out(`${formatList(ephemerals)}\n`);
    },
  },
  addWatch: {
    options:
      '[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE',
    async run(ctx, args) {
      const { flags, rest } = words('addWatch', args, { values: 'm' }, 1);
      const mode = flags.get('m') ?? 'PERSISTENT_RECURSIVE';
      if (mode !== 'PERSISTENT' && mode !== 'PERSISTENT_RECURSIVE')
        throw new ShellError(`Unsupported mode: ${String(mode)}`);
      await ctx
        .client()
        .addWatch(checkPath(rest[0]!), ctx.watcher(), { recursive: mode === 'PERSISTENT_RECURSIVE' });
    },
  },
  removewatches: {
    options: 'path [-c|-d|-p|-r|-a]',
    async run(ctx, args) {
      const { flags, rest } = words('removewatches', args, { switches: 'cdpra' }, 1);
      const flag = 'cdpra'.split('').find((letter) => flags.has(letter));
      await ctx.client().removeWatches(checkPath(rest[0]!), removeTypes[flag ?? 'a']!);
    },
  },
  setquota: {
    options: setquota.options,
    run: (ctx, args) => setquota.run(ctx, words('setquota', args, setquota.spec, 1, Infinity)),
  },
  listquota: {
    options: listquota.options,
    run: (ctx, args) => listquota.run(ctx, words('listquota', args, listquota.spec, 1, Infinity)),
  },
  delquota: {
    options: delquota.options,
    run: (ctx, args) => delquota.run(ctx, words('delquota', args, delquota.spec, 1, Infinity)),
  },
  version: {
    options: '',
    async run(ctx, args) {
      words('version', args, {}, 0);
      ctx.out(`ZooKeeper CLI version: ${zabkitVersion}\n`);
    },
  },
  config: {
    options: '[-c] [-w] [-s]',
    async run(ctx, args) {
      const { flags } = words('config', args, { switches: 'cws' }, 0);
      const watch = flags.has('w') ? { watch: ctx.watcher() } : {};
      const { text, stat } = await ctx.client().getConfig(watch);
      ctx.out(`${flags.has('c') ? clientConfigString(text) : text}\n`);
      if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
    },
  },
  reconfig: {
    options: reconfigOptions,
    run: (ctx, args) => runReconfig(ctx, args),
  },
  whoami: {
    options: '',
    async run(ctx, args) {
      words('whoami', args, {}, 0);
      const identities = await ctx.client().whoAmI();
      ctx.out('Auth scheme: User\n');
      for (const info of identities) ctx.out(`${info.authScheme}: ${info.user}\n`);
    },
  },
  history: {
    options: '',
    async run(ctx) {
      const current = ctx.history.length - 1;
      for (let i = Math.max(0, current - 10); i <= current; i++) ctx.out(`${i} - ${ctx.history[i]}\n`);
    },
  },
  redo: {
    options: 'cmdno',
    async run(ctx, args) {
      const { rest } = words('redo', args, {}, 1);
      await ctx.redo(integer(rest[0], 0, 'Command index out of range'));
    },
  },
  printwatches: {
    options: 'on|off',
    async run(ctx, args) {
      const { rest } = words('printwatches', args, {}, 0, 1);
      if (rest[0] === undefined) ctx.out(`printwatches is ${ctx.printWatches ? 'on' : 'off'}\n`);
      else ctx.printWatches = rest[0] === 'on';
    },
  },
  connect: {
    options: 'host:port',
    async run(ctx, args) {
      const { rest } = words('connect', args, {}, 0, 1);
      await ctx.connect(rest[0]);
    },
  },
  close: {
    options: '',
    async run(ctx) {
      await ctx.close();
    },
  },
  quit: {
    options: '',
    async run(ctx) {
      ctx.quit();
    },
  },
  help: {
    options: '',
    async run(ctx) {
      ctx.out(helpText());
    },
  },
};

/** zkCli's usage listing: the invocation, then every command and its options, sorted. */
export function helpText(): string {
  const lines = ['ZooKeeper -server host:port -timeout ms cmd args'];
  for (const name of sorted(Object.keys(commands))) lines.push(`\t${usageOf(name)}`);
  return `${lines.join('\n')}\n`;
}
