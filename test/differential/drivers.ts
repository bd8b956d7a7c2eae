/**
 * Real ZooKeeper clients no one here wrote, driven from the tests: Apache ZooKeeper's Java
 * client (with Curator 5 where its jars are installed) through drivers/ZkDriver.java, and
 * kazoo through drivers/kazoo_driver.py. Both speak the same line protocol: one JSON
 * command per line in, one JSON answer per line out, in order.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const driversDir = fileURLToPath(new URL('./drivers/', import.meta.url));
const javaLib = '/usr/share/java';
const python = '/usr/bin/python3';

/** The jars the Java driver needs; Curator's are optional (curator commands fail without them). */
const zookeeperJars = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar', 'slf4j-nop.jar'];
const curatorJars = [
  'curator-client.jar',
  'curator-framework.jar',
  'curator-recipes.jar',
  'curator-x-discovery.jar',
  'guava.jar',
  'jackson-databind.jar',
  'jackson-core.jar',
  'jackson-annotations.jar',
];
const present = (jars: readonly string[]) => jars.every((jar) => existsSync(join(javaLib, jar)));

/** Apache ZooKeeper's Java client and a compiler for the driver. */
export const javaClientInstalled = present(zookeeperJars) && existsSync('/usr/bin/javac');
/** Curator 5 with curator-x-discovery (Debian's libcurator-*-java). */
export const curatorInstalled = javaClientInstalled && present(curatorJars);
/** kazoo under Debian's python3. */
export const kazooInstalled =
  existsSync(python) && existsSync('/usr/lib/python3/dist-packages/kazoo/client.py');

/** One answer from a driver. `code` is ZooKeeper's error code when a call failed with one. */
export interface Answer {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly code?: number;
  readonly codeName?: string;
  readonly results?: unknown[];
  /** A failure that was not a ZooKeeper error: the client's exception class. */
  readonly exception?: string;
  readonly message?: string;
}

/** A command: `op`, the `session` it runs in (default "a"), and the op's arguments. */
export type Command = { readonly op: string; readonly session?: string } & Record<string, unknown>;

/** Which client a driver runs. */
export type ClientKind = 'java' | 'kazoo';

/** A running driver process. Commands run one at a time, in the order sent. */
export class Driver {
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  private stderr = '';
  private exited = false;

  private constructor(
    readonly kind: ClientKind,
    private readonly child: ChildProcess,
  ) {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let answer: Answer;
      try {
        answer = JSON.parse(line) as Answer;
      } catch {
        this.stderr += `unparsable driver output: ${line}\n`;
        return;
      }
      const id = Number(answer.id);
      const resolve = this.waiting.get(id);
      this.waiting.delete(id);
      resolve?.({ ...answer, id });
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (this.stderr.length < 200_000) this.stderr += chunk;
    });
    child.once('exit', (code) => {
      this.exited = true;
      for (const [id, resolve] of this.waiting) {
        resolve({ id, ok: false, exception: 'DriverExited', message: `exit ${code}: ${this.stderr}` });
      }
      this.waiting.clear();
    });
  }

  /**
   * Starts a driver for `kind`; the Java one is compiled first (once per source version).
   * `systemProperties` become -D flags of the Java client's JVM (jute.maxbuffer, say, which
   * the Java client also reads there).
   */
  static start(kind: ClientKind, systemProperties: Readonly<Record<string, string>> = {}): Driver {
    if (kind === 'java') {
      const classes = compileJavaDriver();
      const classpath = [classes, ...[...zookeeperJars, ...curatorJars].map((jar) => join(javaLib, jar))];
      const flags = Object.entries(systemProperties).map(([name, value]) => `-D${name}=${value}`);
      return new Driver(
        kind,
        spawn(
          'java',
          [
            '-Xmx256m',
            '-XX:+UseSerialGC',
            '-XX:TieredStopAtLevel=1',
            ...flags,
            '-cp',
            classpath.join(':'),
            'ZkDriver',
          ],
          { stdio: ['pipe', 'pipe', 'pipe'] },
        ),
      );
    }
    return new Driver(
      kind,
      spawn(python, [join(driversDir, 'kazoo_driver.py')], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONPATH: '' },
      }),
    );
  }

  /** Sends one command and resolves with its answer (a driver that died answers DriverExited). */
  send(command: Command): Promise<Answer> {
    const id = this.nextId++;
    if (this.exited)
      return Promise.resolve({ id, ok: false, exception: 'DriverExited', message: this.stderr });
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ ...command, id })}\n`);
    });
  }

  /** What the driver wrote to stderr (client logs, stack traces). */
  errors(): string {
    return this.stderr;
  }

  /** Ends the driver: it closes its sessions when stdin ends. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Compiles ZkDriver (and CuratorOps where Curator is installed) into a directory named by
 * the sources' hash, so concurrent test files share one build and an edit rebuilds.
 */
function compileJavaDriver(): string {
  const sources = ['ZkDriver.java', ...(curatorInstalled ? ['CuratorOps.java'] : [])];
  const hash = createHash('sha256');
  for (const source of sources) hash.update(readFileSync(join(driversDir, source)));
  const target = join(tmpdir(), `zabkit-zkdriver-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(target, 'ZkDriver.class'))) return target;
  const building = `${target}.${process.pid}.${Date.now()}`;
  mkdirSync(building, { recursive: true });
  const classpath = [...zookeeperJars, ...(curatorInstalled ? curatorJars : [])].map((jar) =>
    join(javaLib, jar),
  );
  execFileSync(
    'javac',
    [
      '-nowarn',
      '-d',
      building,
      '-cp',
      classpath.join(':'),
      ...sources.map((source) => join(driversDir, source)),
    ],
    { stdio: 'pipe' },
  );
  try {
    renameSync(building, target);
  } catch {
    // Another test file finished the same build first: use theirs.
    rmSync(building, { recursive: true, force: true });
  }
  return target;
}
