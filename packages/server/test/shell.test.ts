/**
 * The zkCli-style shell: its pieces (words, flags, ACLs, Stat blocks, completion), then the
 * whole shell against a started server, driven through stdin (a script of commands), with
 * one command on the command line, and under a real pseudo-terminal (prompt, tab completion,
 * history).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectTcp, digestOf, Perms, type Stat, ZabError } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerNode } from '../src/node.js';
import {
  completeLine,
  describeError,
  formatAcl,
  formatStat,
  helpText,
  javaDate,
  parseAcl,
  parseFlags,
  splitWords,
} from '../src/shell/index.js';
import { startStandalone } from './helpers.js';
import { runScript, ShellDriver } from './shell-driver.js';

describe('the shell, piece by piece', () => {
  it('splits words with quotes and escapes, as zkCli lines are written', () => {
    expect(splitWords('create /a "hello world"')).toEqual(['create', '/a', 'hello world']);
    expect(splitWords("  set  /a 'it''s' ")).toEqual(['set', '/a', 'its']);
    expect(splitWords('set /a say\\ \\"hi\\"')).toEqual(['set', '/a', 'say "hi"']);
    expect(splitWords('set /a ""')).toEqual(['set', '/a', '']);
    expect(splitWords('')).toEqual([]);
    expect(() => splitWords('create /a "open')).toThrow('unclosed quote "');
  });

  it('parses flags as zkCli does: switches, values, grouped switches, unknown ones refused', () => {
    const parsed = parseFlags(['-s', '-v', '3', '/a', 'data'], { switches: 's', values: 'v' });
    expect([...parsed.flags]).toEqual([
      ['s', true],
      ['v', '3'],
    ]);
    expect(parsed.rest).toEqual(['/a', 'data']);
    expect([...parseFlags(['-sw', '/a'], { switches: 'sw' }).flags.keys()]).toEqual(['s', 'w']);
    expect(parseFlags(['-v5', '/a'], { values: 'v' }).flags.get('v')).toBe('5');
    expect(parseFlags(['/a', '--', '-s'], { switches: 's' }).rest).toEqual(['/a', '-s']);
    expect(parseFlags(['/a', '-1'], {}).rest).toEqual(['/a', '-1']);
    expect(() => parseFlags(['-x', '/a'], { switches: 's' })).toThrow(
      'org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x',
    );
    expect(() => parseFlags(['/a', '-v'], { values: 'v' })).toThrow(
      'org.apache.commons.cli.MissingArgumentException: Missing argument for option: v',
    );
  });

  it("parses zkCli's ACL syntax and prints ACLs as getAcl does", () => {
    const acl = parseAcl('world:anyone:cdrwa,digest:bob:abc=:r,ip:10.0.0.0/8:rw,auth::cd');
    expect(acl).toEqual([
      { perms: Perms.All, id: { scheme: 'world', id: 'anyone' } },
      { perms: Perms.Read, id: { scheme: 'digest', id: 'bob:abc=' } },
      { perms: Perms.Read | Perms.Write, id: { scheme: 'ip', id: '10.0.0.0/8' } },
      { perms: Perms.Create | Perms.Delete, id: { scheme: 'auth', id: '' } },
    ]);
    expect(formatAcl(acl.slice(0, 2))).toBe("'world,'anyone\n: cdrwa\n'digest,'bob:abc=\n: r");
    expect(() => parseAcl('world:anyone')).toThrow('world:anyone does not have the form scheme:id:perm');
    expect(() => parseAcl('world:anyone:rx')).toThrow('Unknown perm type: x');
  });

  it("prints a Stat with zkCli's names and Java's formats", () => {
    const stat: Stat = {
      czxid: 0x100000002n,
      mzxid: 0x100000005n,
      ctime: Date.UTC(2026, 10, 6, 8, 5, 9),
      mtime: Date.UTC(2026, 10, 26, 18, 0, 0),
      version: 3,
      cversion: 1,
      aversion: 0,
      ephemeralOwner: -1n,
      dataLength: 5,
      numChildren: 1,
      pzxid: 0x100000004n,
    } as Stat;
    expect(formatStat(stat)).toBe(
      [
        'cZxid = 0x100000002',
        'ctime = Fri Nov 06 08:05:09 UTC 2026',
        'mZxid = 0x100000005',
        'mtime = Thu Nov 26 18:00:00 UTC 2026',
        'pZxid = 0x100000004',
        'cversion = 1',
        'dataVersion = 3',
        'aclVersion = 0',
        'ephemeralOwner = 0xffffffffffffffff',
        'dataLength = 5',
        'numChildren = 1',
      ].join('\n'),
    );
    expect(javaDate(0)).toBe('Thu Jan 01 00:00:00 UTC 1970');
  });

  it('completes command names, then znode paths from the parent’s children', async () => {
    const tree: Record<string, string[]> = { '/': ['app', 'apple', 'zookeeper'], '/app': ['config', 'conn'] };
    const lister = async (path: string) => {
      const children = tree[path];
      if (children === undefined) throw new ZabError(-101, path);
      return children;
    };
    const names = ['get', 'getAcl', 'ls', 'set'];
    expect(await completeLine('ge', names, lister)).toEqual([['get', 'getAcl'], 'ge']);
    expect(await completeLine('get /ap', names, lister)).toEqual([['/app', '/apple'], '/ap']);
    expect(await completeLine('get /app/con', names, lister)).toEqual([
      ['/app/config', '/app/conn'],
      '/app/con',
    ]);
    expect(await completeLine('get -s /app/conf', names, lister)).toEqual([['/app/config'], '/app/conf']);
    expect(await completeLine('ls /missing/x', names, lister)).toEqual([[], '/missing/x']);
    expect(await completeLine('set /app data', names, lister)).toEqual([[], 'data']);
  });

  it("words ZooKeeper's errors as zkCli does", () => {
    expect(describeError(new ZabError(-101, '/a'))).toBe('Node does not exist: /a');
    expect(describeError(new ZabError(-110, '/a'))).toBe('Node already exists: /a');
    expect(describeError(new ZabError(-111, '/a'))).toBe('Node not empty: /a');
    expect(describeError(new ZabError(-103, '/a'))).toBe('version No is not valid : /a');
    expect(describeError(new ZabError(-102, '/a'))).toBe('Insufficient permission : /a');
    expect(describeError(new ZabError(-108), '/a')).toBe('Ephemerals cannot have children: /a');
    expect(describeError(new ZabError(-121, '/a'))).toBe('KeeperErrorCode = No such watcher for /a');
  });

  it("lists every command in zkCli's usage form, sorted", () => {
    const help = helpText();
    expect(help).toMatch(/^ZooKeeper -server host:port -timeout ms cmd args\n/);
    expect(help).toContain('\tls [-s] [-w] [-R] path\n');
    expect(help).toContain('\tcreate [-s] [-e] [-c] [-t ttl] path [data] [acl]\n');
    const names = help
      .split('\n')
      .slice(1, -1)
      .map((line) => line.trim().split(' ')[0]!);
    expect(names).toEqual([...names].sort());
  });
});

describe('the shell against a server', () => {
  let server: ServerNode;
  let target: string;

  beforeAll(async () => {
    server = await startStandalone();
    target = `127.0.0.1:${server.address().port}`;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('runs a script from stdin with zkCli output', async () => {
    const script = [
      'create /s "hello world"',
      'create -e /s/eph',
      'create -s /s/seq- x',
      '# a comment line, and a blank one',
      '',
      'get -s /s',
      'set -v 0 /s again',
      'get /s',
      'get /s/eph',
      'ls /s',
      'ls -s /s',
      'stat /s',
      'getAllChildrenNumber /s',
      'getEphemerals /s',
      'getEphemerals',
      'sync /s',
      'getAcl /s',
      'whoami',
    ].join('\n');
    const { code, out, err } = await runScript(['-server', target], script);
    // zkCli reports creations on standard error, and so does the shell.
    expect(err).toBe('Created /s\nCreated /s/eph\nCreated /s/seq-0000000001\n');
    expect(code).toBe(0);
    expect(out).toMatch(/^hello world\ncZxid = 0x[0-9a-f]+\nctime = \w{3} \w{3} \d\d [\d:]{8} UTC \d{4}\n/m);
    expect(out).toMatch(/^dataVersion = 0$/m);
    expect(out).toMatch(/^again$/m);
    expect(out).toMatch(/^null$/m);
    expect(out).toMatch(/^\[eph, seq-0000000001\]\n\[eph, seq-0000000001\]\ncZxid = /m);
    expect(out).toMatch(/^dataVersion = 1$/m);
    expect(out).toMatch(/^numChildren = 2$/m);
    expect(out).toMatch(/^dataLength = 5$/m);
    expect(out).toMatch(/^2$/m);
    expect(out.match(/^\[\/s\/eph\]$/gm)).toHaveLength(2);
    expect(out).toMatch(/^Sync is OK$/m);
    expect(out).toMatch(/^'world,'anyone\n: cdrwa$/m);
    expect(out).toMatch(/^Auth scheme: User\nip: 127\.0\.0\.1$/m);
    // The ephemeral went with the shell's session.
    const after = await runScript(['-server', target, 'ls', '/s']);
    expect(after.out).toBe('[seq-0000000001]\n');
  });

  it('lists a subtree depth first with ls -R, in ZooKeeper’s order, and sorts ls', async () => {
    const { code, out } = await runScript(
      ['-server', target],
      ['create /r', 'create /r/b', 'create /r/a', 'create /r/b/y', 'create /r/a/x', 'ls /r', 'ls -R /r'].join(
        '\n',
      ),
    );
    expect(code).toBe(0);
    expect(out).toContain('[a, b]\n/r\n/r/a\n/r/b\n/r/a/x\n/r/b/y\n');
  });

  it('creates containers, TTL nodes, nodes with an ACL; refuses bad flag combinations', async () => {
    const { code, out, err } = await runScript(
      ['-server', target],
      [
        'create -c /box',
        'create -t 60000 /ttl x',
        'create -s -t 60000 /ttlseq- x',
        'create /open x world:anyone:r',
        'getAcl /open',
        'stat /box',
        'set /open y',
        'create -c -e /bad',
        'create -e -t 10 /bad',
        'create -t soon /bad',
        'create',
        'create bad',
        'create -x /bad',
        'create /bad x nonsense',
        'stat /bad',
      ].join('\n'),
    );
    expect(code).toBe(1);
    expect(err).toMatch(/^Created \/box$/m);
    expect(err).toMatch(/^Created \/ttl$/m);
    expect(err).toMatch(/^Created \/ttlseq-\d{10}$/m);
    expect(out).toMatch(/^'world,'anyone\n: r$/m);
    expect(out).toMatch(/^numChildren = 0$/m);
    expect(err.split('\n').filter((line) => !line.startsWith('Created '))).toEqual([
      'Insufficient permission : /open',
      '-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.',
      'TTLs cannot be used with Ephemeral znodes',
      '-t argument must be a long value',
      'create [-s] [-e] [-c] [-t ttl] path [data] [acl]',
      'Path must start with / character',
      'org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x',
      'nonsense does not have the form scheme:id:perm',
      'Node does not exist: /bad',
      '',
    ]);
  });

  it('sets and deletes with versions, prints the Stat with -s', async () => {
    const { code, out, err } = await runScript(
      ['-server', target],
      [
        'create /v one',
        'set -s -v 0 /v two',
        'set -v 0 /v three',
        'delete -v 5 /v',
        'delete -v 1 /v',
        'delete /v',
        'set /v four',
      ].join('\n'),
    );
    expect(code).toBe(1);
    expect(out).toMatch(/^cZxid = 0x[0-9a-f]+\n(.*\n){5}dataVersion = 1\n/m);
    expect(err).toBe(
      [
        'Created /v',
        'version No is not valid : /v',
        'version No is not valid : /v',
        'Node does not exist: /v',
        'Node does not exist: /v',
        '',
      ].join('\n'),
    );
  });

  it('sets ACLs (also recursively), authenticates, deletes recursively and reports errors with a non-zero exit', async () => {
    const hash = digestOf('alice', 'secret');
    const script = [
      'create /acl x',
      'addauth digest alice:secret',
      'whoami',
      'setAcl /acl auth::cdrwa',
      'getAcl -s /acl',
      'setAcl -v 0 /acl world:anyone:cdrwa',
      'create /tree x',
      'create /tree/a x',
      'create /tree/a/b x',
      'setAcl -R /tree world:anyone:ra',
      'getAcl /tree/a/b',
      'setAcl -R /tree world:anyone:cdrwa',
      'delete /tree',
      'deleteall /tree',
      'ls /tree',
      'bogus arg',
    ].join('\n');
    const { code, out, err } = await runScript(['-server', target], script);
    expect(code).toBe(1);
    expect(out).toContain('Auth scheme: User\nip: 127.0.0.1\ndigest: alice\n');
    expect(out).toContain(`'digest,'${hash}\n: cdrwa\ncZxid = `);
    expect(out).toMatch(/^aclVersion = 1$/m);
    expect(out).toMatch(/^'world,'anyone\n: ra$/m);
    expect(err).toMatch(/^version No is not valid : \/acl$/m);
    expect(err).toMatch(/^Node not empty: \/tree$/m);
    expect(err).toMatch(/^Node does not exist: \/tree$/m);
    // Unknown commands print zkCli's usage and count as failures.
    expect(err).toMatch(/^ZooKeeper -server host:port -timeout ms cmd args\n\t/m);
    expect(err).toMatch(/^Command not found bogus$/m);
    // Another session cannot read it without alice's identity; with it, it can.
    const stranger = await runScript(['-server', target, 'get', '/acl']);
    expect(stranger).toEqual({ code: 1, out: '', err: 'Insufficient permission : /acl\n' });
    const alice = await runScript(['-server', target], 'addauth digest alice:secret\nget /acl\n');
    expect(alice).toEqual({ code: 0, out: 'x\n', err: '' });
  });

  it('prints watch events as zkCli does: one-shot, persistent, recursive; removewatches stops them', async () => {
    const shell = ShellDriver.start(['-server', target]);
    shell.send('create /w 1');
    await shell.waitFor(/Created \/w/, 10_000, 'err');
    shell.send('get -w /w');
    shell.send('ls -w /w');
    // stat -w of a missing node fails, but leaves a watch for its creation, as in zkCli.
    shell.send('stat -w /w/c');
    shell.send('sync /w');
    await shell.waitFor(/Sync is OK/);
    const other = await connectTcp(target);
    try {
      await other.setData('/w', '2');
      await shell.waitFor(/type:NodeDataChanged/);
      await other.create('/w/c', 'x');
      await shell.waitFor(/type:NodeChildrenChanged path:\/w\n/);
      await shell.waitFor(/type:NodeCreated path:\/w\/c\n/);
      expect(shell.out).toContain(
        '\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/w\n',
      );
      shell.send('addWatch /w');
      shell.send('addWatch -m PERSISTENT /w/c');
      shell.send('sync /w');
      await shell.waitFor(/(Sync is OK[\s\S]*){2}/);
      await other.create('/w/c/deep', '');
      await shell.waitFor(/type:NodeCreated path:\/w\/c\/deep/);
      await other.setData('/w/c', 'y');
      // The recursive watch on /w and the persistent one on /w/c both fire.
      await shell.waitFor(/(type:NodeDataChanged path:\/w\/c\n[\s\S]*){2}/);
      shell.send('removewatches /w/c -p');
      shell.send('removewatches /w');
      shell.send('printwatches');
      shell.send('sync /w');
      await shell.waitFor(/(Sync is OK[\s\S]*){3}/);
      const seen = shell.out.length;
      await other.setData('/w/c', 'z');
      shell.send('removewatches /w');
      shell.send('sync /w');
      await shell.waitFor(/(Sync is OK[\s\S]*){4}/);
      expect(shell.out.slice(seen)).not.toContain('WATCHER');
      expect(shell.out).toMatch(/^printwatches is on$/m);
    } finally {
      await other.close();
    }
    const { code, err } = await shell.finish();
    expect(err).toBe('Created /w\nNode does not exist: /w/c\nKeeperErrorCode = No such watcher for /w\n');
    expect(code).toBe(1);
  });

  it('turns watch printing off with printwatches off', async () => {
    const { out } = await runScript(
      ['-server', target],
      ['create /quiet', 'printwatches off', 'printwatches', 'get -w /quiet', 'set /quiet x', 'sync /'].join(
        '\n',
      ),
    );
    expect(out).toMatch(/^printwatches is off$/m);
    expect(out).not.toContain('WATCHER');
  });

  it('keeps a history, redoes commands, closes and reconnects, and stops at quit', async () => {
    const { code, out, err } = await runScript(
      ['-server', target],
      [
        'create /h 1',
        'get /h',
        'set /h 2',
        'redo 1',
        'redo 3',
        'redo 9',
        'redo 5',
        'history',
        'close',
        'ls /',
        'connect',
        `connect ${target}`,
        'get /h',
        'quit',
        'get /never',
      ].join('\n'),
    );
    expect(code).toBe(1);
    expect(out).toMatch(/^1\n2\n/m);
    expect(out).toContain(
      [
        '0 - create /h 1',
        '1 - get /h',
        '2 - set /h 2',
        '3 - get /h',
        '4 - get /h',
        '5 - redo 9',
        '6 - redo 5',
        '7 - history',
      ].join('\n'),
    );
    expect(out.match(/^2$/gm)).toHaveLength(3);
    expect(err).toBe(
      ['Created /h', 'Command index out of range', 'No redoing redos', 'Not connected', ''].join('\n'),
    );
  });

  it('runs one command from the command line and exits with its status', async () => {
    await runScript(['-server', target, 'create', '/one', 'hello world']);
    expect(await runScript(['-server', target, 'get', '/one'])).toEqual({
      code: 0,
      out: 'hello world\n',
      err: '',
    });
    expect(await runScript(['-server', target, 'delete', '/one'])).toEqual({ code: 0, out: '', err: '' });
    expect(await runScript(['-server', target, 'get', '/one'])).toEqual({
      code: 1,
      out: '',
      err: 'Node does not exist: /one\n',
    });
    const usage = await runScript(['-server', target, 'ls']);
    expect(usage).toEqual({ code: 1, out: '', err: 'ls [-s] [-w] [-R] path\n' });
    const help = await runScript(['-server', target, 'help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^\tdeleteall path/m);
  });

  it('refuses bad invocations and unreachable servers with a non-zero exit', async () => {
    const bad = await runScript(['-timeout', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^usage: zabkit shell/);
    const help = await runScript(['-h']);
    expect(help.code).toBe(0);
    const unreachable = await runScript(['-server', '127.0.0.1:1', '-timeout', '500', 'ls', '/']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toMatch(/^Unable to connect to 127\.0\.0\.1:1: /);
  });

  it('at a terminal, prints watch events above the prompt and ends at end of input', async () => {
    const shell = ShellDriver.start(['-server', target], { tty: true });
    await shell.waitFor(/\[zk: 127\.0\.0\.1:\d+\(CONNECTED\) 0\] \S*$/);
    shell.send('create /tty x');
    shell.send('get -w /tty');
    await shell.waitFor(/\(CONNECTED\) 2\] \S*$/);
    const other = await connectTcp(target);
    await other.setData('/tty', 'y').finally(() => other.close());
    // The event, then the prompt drawn again below it.
    await shell.waitFor(
      /WatchedEvent state:SyncConnected type:NodeDataChanged path:\/tty\n[^\n]*\[zk: 127\.0\.0\.1:\d+\(CONNECTED\) 2\] \S*$/,
    );
    const { code } = await shell.finish();
    expect(code).toBe(0);
  });

  const runner = fileURLToPath(new URL('./shell-runner.mjs', import.meta.url));
  const built = existsSync(fileURLToPath(new URL('../dist/shell/index.js', import.meta.url)));
  it.skipIf(!built)(
    'works in a pseudo-terminal: prompt, tab completion of commands and paths, history, arrow keys',
    async () => {
      await runScript(['-server', target], 'create /completion x\ncreate /completion/alpha 1\n');
      const { stdout } = await promisify(execFile)(
        'python3',
        [
          fileURLToPath(new URL('./shell-pty.py', import.meta.url)),
          process.execPath,
          runner,
          target,
          // A person types part of a command and a path, pressing tab each time, then enter.
          'getAllC\\t',
          '\\x15', // ^U clears the line
          'get /compl\\t',
          '/al\\t',
          '\\r',
          'history\\r',
          // Up arrow twice brings back the get, from readline's history.
          '\\x1b[A\\x1b[A\\r',
        ],
        { timeout: 60_000 },
      );
      expect(stdout).toMatch(/\[zk: 127\.0\.0\.1:\d+\(CONNECTED\) 0\] /);
      expect(stdout).toContain('getAllChildrenNumber');
      // Tab completed the path, so get found the node.
      expect(stdout).toMatch(/get \/completion\/alpha[^\n]*\n1\r*\n/);
      expect(stdout).toMatch(/\[zk: 127\.0\.0\.1:\d+\(CONNECTED\) 1\] /);
      expect(stdout).toMatch(/0 - get \/completion\/alpha\r*\n1 - history\r*\n/);
      expect(stdout).toMatch(
        /\[zk: 127\.0\.0\.1:\d+\(CONNECTED\) 2\] [\s\S]*get \/completion\/alpha[^\n]*\n1\r*\n/,
      );
      expect(stdout).toMatch(/\[zk: 127\.0\.0\.1:\d+\(CONNECTED\) 3\] /);
      expect(stdout).toMatch(/EXIT 0/);
    },
    90_000,
  );
});
