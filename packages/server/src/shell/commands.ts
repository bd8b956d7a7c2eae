/**
 * The shell's commands, in the manner of zkCli.sh: the same names, flags and output, on
 * zabkit's client. Each command writes to the context and throws a ShellError to fail.
 */
import { type CreateOptions, type WatchedEvent, type ZabClient, ZabError } from '@zabkit/client';
import { formatAcl, formatStat, parseAcl } from './format.js';
import { parseFlags } from './words.js';

/** A failed command: its message is what the user sees. */
export class ShellError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellError';
  }
}

/** What a command runs against. */
export interface ShellContext {
  readonly client: () => ZabClient;
  readonly out: (text: string) => void;
  readonly history: readonly string[];
  /** Connects to another server list (`connect host:port`). */
  connect(target: string): Promise<void>;
  /** Closes the session (`close`). */
  close(): Promise<void>;
  /** Ends the shell (`quit`). */
  quit(): void;
  /** Runs a line again (`redo n`). */
  run(line: string): Promise<void>;
}

interface Command {
  readonly usage: string;
  run(ctx: ShellContext, args: string[]): Promise<void>;
}

/** zkCli's wording for ZooKeeper's errors. */
export function describeError(error: unknown, path?: string): string {
  if (error instanceof ShellError) return error.message;
  if (!(error instanceof ZabError)) return error instanceof Error ? error.message : String(error);
  const at = error.path ?? path ?? '';
  switch (error.codeName) {
    case 'NoNode':
      return `Node does not exist: ${at}`;
    case 'NodeExists':
      return `Node already exists: ${at}`;
    case 'NotEmpty':
      return `Node not empty: ${at}`;
    case 'BadVersion':
      return `version No is not valid : ${at}`;
    case 'NoAuth':
      return `Insufficient permission : ${at}`;
    case 'NoChildrenForEphemerals':
      return `Ephemerals cannot have children: ${at}`;
    case 'InvalidACL':
      return `Acl is not valid : ${at}`;
    default:
      return `${error.codeName}: ${error.message}`;
  }
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The watcher output zkCli prints when a watch set with -w fires. */
function printWatch(ctx: ShellContext): (event: WatchedEvent) => void {
  return (event) =>
    ctx.out(`\nWATCHER::\n\nWatchedEvent state:SyncConnected type:${event.type} path:${event.path}\n`);
}

function onePath(rest: readonly string[], usage: string): string {
  if (rest.length !== 1 || !rest[0]!.startsWith('/')) throw new ShellError(usage);
  return rest[0]!;
}

function versionOf(flags: Map<string, string | true>): number {
  const value = flags.get('v');
  if (value === undefined) return -1;
  const version = Number(value);
  if (!Number.isInteger(version)) throw new ShellError(`version ${String(value)} is not a number`);
  return version;
}

/** Every path under `path`, breadth first, `path` itself first (ls -R, deleteall). */
async function subtree(zk: ZabClient, path: string): Promise<string[]> {
  const paths = [path];
  for (let i = 0; i < paths.length; i++) {
    const at = paths[i]!;
    for (const child of await zk.getChildren(at)) paths.push(at === '/' ? `/${child}` : `${at}/${child}`);
  }
  return paths;
}

export const commands: Readonly<Record<string, Command>> = {
  ls: {
    usage: 'ls [-s] [-w] [-R] path',
    async run(ctx, args) {
      const { flags, rest } = parseFlags(args);
      const path = onePath(rest, this.usage);
      const zk = ctx.client();
      if (flags.has('R')) {
        for (const at of await subtree(zk, path)) ctx.out(`${at}\n`);
        return;
      }
      const watch = flags.has('w') ? { watch: printWatch(ctx) } : {};
      const { children, stat } = await zk.getChildrenWithStat(path, watch);
      ctx.out(`[${children.join(', ')}]\n`);
      if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
    },
  },
  get: {
    usage: 'get [-s] [-w] path',
    async run(ctx, args) {
      const { flags, rest } = parseFlags(args);
      const path = onePath(rest, this.usage);
      const { data, stat } = await ctx
        .client()
        .getData(path, flags.has('w') ? { watch: printWatch(ctx) } : {});
      ctx.out(`${data.length === 0 ? 'null' : text(data)}\n`);
      if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
    },
  },
  stat: {
    usage: 'stat [-w] path',
    async run(ctx, args) {
      const { flags, rest } = parseFlags(args);
      const path = onePath(rest, this.usage);
      const stat = await ctx.client().exists(path, flags.has('w') ? { watch: printWatch(ctx) } : {});
      if (stat === null) throw new ShellError(`Node does not exist: ${path}`);
      ctx.out(`${formatStat(stat)}\n`);
    },
  },
  create: {
    usage: 'create [-s] [-e] [-c] [-t ttl] path [data] [acl]',
    async run(ctx, args) {
      const { flags, rest } = parseFlags(args, ['t']);
      const [path, data, acl] = rest;
      if (path === undefined || !path.startsWith('/') || rest.length > 3) throw new ShellError(this.usage);
      const sequential = flags.has('s');
      const ttl = flags.get('t');
      let mode: CreateOptions;
      if (flags.has('c')) {
        if (sequential || flags.has('e') || ttl !== undefined)
          throw new ShellError('-c cannot be combined with -s, -e or -t');
        mode = { mode: 'container' };
      } else if (ttl !== undefined) {
        if (flags.has('e')) throw new ShellError('TTLs cannot be used with ephemeral nodes');
        const ttlMs = Number(ttl);
        if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new ShellError(`bad ttl ${String(ttl)}`);
        mode = { mode: sequential ? 'persistentSequentialWithTtl' : 'persistentWithTtl', ttlMs };
      } else if (flags.has('e')) mode = { mode: sequential ? 'ephemeralSequential' : 'ephemeral' };
      else mode = { mode: sequential ? 'persistentSequential' : 'persistent' };
      const created = await ctx.client().create(path, data ?? '', {
        ...mode,
        ...(acl === undefined ? {} : { acl: parseAcl(acl) }),
      });
      ctx.out(`Created ${created}\n`);
    },
  },
  set: {
    usage: 'set [-s] [-v version] path data',
    async run(ctx, args) {
      const { flags, rest } = parseFlags(args, ['v']);
      if (rest.length !== 2 || !rest[0]!.startsWith('/')) throw new ShellError(this.usage);
      const stat = await ctx.client().setData(rest[0]!, rest[1]!, versionOf(flags));
      if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
    },
  },
  delete: {
    usage: 'delete [-v version] path',
    async run(ctx, args) {
      const { flags, rest } = parseFlags(args, ['v']);
      await ctx.client().delete(onePath(rest, this.usage), versionOf(flags));
    },
  },
  deleteall: {
    usage: 'deleteall path',
    async run(ctx, args) {
      const path = onePath(args, this.usage);
      if (path === '/') throw new ShellError('will not delete /');
      const zk = ctx.client();
      for (const at of (await subtree(zk, path)).reverse()) await zk.delete(at);
    },
  },
  getAcl: {
    usage: 'getAcl [-s] path',
    async run(ctx, args) {
      const { flags, rest } = parseFlags(args);
      const { acl, stat } = await ctx.client().getACL(onePath(rest, this.usage));
      ctx.out(`${formatAcl(acl)}\n`);
      if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
    },
  },
  setAcl: {
    usage: 'setAcl [-s] [-v version] [-R] path acl',
    async run(ctx, args) {
      const { flags, rest } = parseFlags(args, ['v']);
      if (rest.length !== 2 || !rest[0]!.startsWith('/')) throw new ShellError(this.usage);
      const acl = parseAcl(rest[1]!);
      const zk = ctx.client();
      const paths = flags.has('R') ? await subtree(zk, rest[0]!) : [rest[0]!];
      for (const path of paths) {
        const stat = await zk.setACL(path, acl, flags.has('R') ? -1 : versionOf(flags));
        if (flags.has('s')) ctx.out(`${formatStat(stat)}\n`);
      }
    },
  },
  addauth: {
    usage: 'addauth scheme auth',
    async run(ctx, args) {
      if (args.length !== 2) throw new ShellError(this.usage);
      await ctx.client().addAuth(args[0]!, args[1]!);
    },
  },
  sync: {
    usage: 'sync path',
    async run(ctx, args) {
      const path = onePath(args, this.usage);
      await ctx.client().sync(path);
      ctx.out(`Sync is OK\n`);
    },
  },
  getAllChildrenNumber: {
    usage: 'getAllChildrenNumber path',
    async run(ctx, args) {
      ctx.out(`${await ctx.client().getAllChildrenNumber(onePath(args, this.usage))}\n`);
    },
  },
  getEphemerals: {
    usage: 'getEphemerals [path]',
    async run(ctx, args) {
      if (args.length > 1) throw new ShellError(this.usage);
      ctx.out(`[${(await ctx.client().getEphemerals(args[0] ?? '/')).join(', ')}]\n`);
    },
  },
  addWatch: {
    usage: 'addWatch [-m mode] path # mode is PERSISTENT or PERSISTENT_RECURSIVE (the default)',
    async run(ctx, args) {
      const { flags, rest } = parseFlags(args, ['m']);
      const mode = flags.get('m') ?? 'PERSISTENT_RECURSIVE';
      if (mode !== 'PERSISTENT' && mode !== 'PERSISTENT_RECURSIVE') throw new ShellError(this.usage);
      await ctx
        .client()
        .addWatch(onePath(rest, this.usage), printWatch(ctx), { recursive: mode === 'PERSISTENT_RECURSIVE' });
    },
  },
  removewatches: {
    usage: 'removewatches path [-c|-d|-a]',
    async run(ctx, args) {
      const { flags, rest } = parseFlags(args);
      const type = flags.has('c') ? 'children' : flags.has('d') ? 'data' : 'any';
      await ctx.client().removeWatches(onePath(rest, this.usage), type);
    },
  },
  whoami: {
    usage: 'whoami',
    async run(ctx) {
      ctx.out('Auth scheme: User\n');
      for (const info of await ctx.client().whoAmI()) ctx.out(`${info.authScheme}: ${info.user}\n`);
    },
  },
  history: {
    usage: 'history',
    async run(ctx) {
      const start = Math.max(0, ctx.history.length - 11);
      for (let i = start; i < ctx.history.length - 1; i++) ctx.out(`${i} - ${ctx.history[i]}\n`);
    },
  },
  redo: {
    usage: 'redo cmdno',
    async run(ctx, args) {
      const line = ctx.history[Number(args[0])];
      if (args.length !== 1 || line === undefined) throw new ShellError(this.usage);
      await ctx.run(line);
    },
  },
  connect: {
    usage: 'connect host:port',
    async run(ctx, args) {
      if (args.length !== 1) throw new ShellError(this.usage);
      await ctx.connect(args[0]!);
    },
  },
  close: {
    usage: 'close',
    async run(ctx) {
      await ctx.close();
    },
  },
  quit: {
    usage: 'quit',
    async run(ctx) {
      ctx.quit();
    },
  },
  help: {
    usage: 'help',
    async run(ctx) {
      ctx.out(`ZooKeeper -server host:port -timeout ms cmd args\n`);
      for (const command of Object.values(commands)) ctx.out(`\t${command.usage}\n`);
    },
  },
};
