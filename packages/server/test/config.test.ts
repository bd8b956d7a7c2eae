import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  FOUR_LETTER_WORDS,
  loadConfigFile,
  parseConfig,
  parseProperties,
  purgePolicyOf,
  readMyId,
} from '../src/config.js';

const ENSEMBLE = `
# The number of milliseconds of each tick
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/var/lib/zookeeper
dataLogDir=/var/log/zookeeper
clientPort=2181
clientPortAddress=0.0.0.0
maxClientCnxns=100
minSessionTimeout=4000
maxSessionTimeout=60000
snapCount=50000
autopurge.snapRetainCount=5
autopurge.purgeInterval=24
jute.maxbuffer=4194304
4lw.commands.whitelist=ruok, mntr, stat
peerType=participant
standaloneEnabled=false
admin.enableServer=false
server.1=zk1.example.com:2888:3888
server.2=zk2.example.com:2888:3888;2181
server.3=zk3.example.com:2888:3888:participant;0.0.0.0:2181
server.4=zk4.example.com:2888:3888:observer
`;

/** Minimal standalone config plus extra lines. */
const standalone = (...lines: string[]) => ['dataDir=/data', ...lines].join('\n');

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('parses a full realistic ensemble zoo.cfg', () => {
    const { config, warnings } = parseConfig(ENSEMBLE, { myid: 2 });
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      tickTime: 2000,
      initLimit: 10,
      syncLimit: 5,
      dataDir: '/var/lib/zookeeper',
      dataLogDir: '/var/log/zookeeper',
      clientPort: 2181,
      clientPortAddress: '0.0.0.0',
      myid: 2,
      peerType: 'participant',
      standaloneEnabled: false,
      maxClientCnxns: 100,
      minSessionTimeout: 4000,
      maxSessionTimeout: 60000,
      snapCount: 50000,
      snapRetainCount: 5,
      purgeIntervalHours: 24,
      juteMaxBuffer: 4194304,
    });
    expect(config.fourLetterWords).toEqual(new Set(['srvr', 'ruok', 'mntr', 'stat']));
    expect([...config.servers.keys()]).toEqual([1, 2, 3, 4]);
    expect(config.servers.get(1)).toEqual({
      id: 1,
      host: 'zk1.example.com',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'participant',
    });
    expect(config.servers.get(2)).toEqual({
      id: 2,
      host: 'zk2.example.com',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'participant',
      clientAddress: '0.0.0.0',
      clientPort: 2181,
    });
    expect(config.servers.get(3)).toMatchObject({
      role: 'participant',
      clientAddress: '0.0.0.0',
      clientPort: 2181,
    });
    expect(config.servers.get(4)).toMatchObject({ host: 'zk4.example.com', role: 'observer' });
    expect(config.servers.get(4)?.clientPort).toBeUndefined();
  });

  it('fills in defaults for a minimal standalone config', () => {
    const { config, warnings } = parseConfig('dataDir=/tmp/zk');
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      // 3000 ms, as ZooKeeper 3.8 and 3.9 default it.
      tickTime: 3000,
      initLimit: 10,
      syncLimit: 5,
      dataDir: '/tmp/zk',
      dataLogDir: '/tmp/zk',
      clientPort: undefined,
      clientPortAddress: undefined,
      servers: new Map(),
      configVersion: 0n,
      dynamicConfigFile: undefined,
      configFile: undefined,
      myid: undefined,
      peerType: 'participant',
      standaloneEnabled: true,
      maxClientCnxns: 60,
      minSessionTimeout: 6000,
      maxSessionTimeout: 60000,
      snapCount: 100000,
      snapRetainCount: 3,
      purgeIntervalHours: undefined,
      juteMaxBuffer: 0xfffff,
      fourLetterWords: new Set(['srvr']),
      clientPortSettings: {
        globalOutstandingLimit: 1000,
        limits: {
          maxConnections: 0,
          sessionlessTimeoutMs: 10_000,
          maxOutstandingPerConnection: 256,
          writeBufferHighWaterBytes: 4 * 1024 * 1024,
          writeBufferMaxBytes: 64 * 1024 * 1024,
          writeStallTimeoutMs: 0,
          tlsHandshakesMax: 0,
        },
        earlyDropSecureConnectionHandshakes: false,
        tls: {
          secureClientPort: undefined,
          secureClientPortAddress: undefined,
          portUnification: false,
          clientAuth: 'need',
          tls: undefined,
        },
        audit: { enabled: false, file: undefined },
        auth: {
          loginConfig: undefined,
          loginSection: 'Server',
          saslSuperUsers: [],
          saslSuperPassword: undefined,
          allowSaslFailedClients: false,
          x509SuperUser: undefined,
          enforceAuthSchemes: [],
        },
      },
      peerLinks: {
        syncChunkBytes: 1024 * 1024,
        syncWindowBytes: 8 * 1024 * 1024,
        peerMaxFrameBytes: 64 * 1024 * 1024,
        learnerLagBytesMax: 64 * 1024 * 1024,
      },
      store: { valueLogThresholdBytes: 0 },
      quorumSecurity: {
        tls: undefined,
        identities: new Map(),
        secretFile: undefined,
        allowUnauthenticated: false,
        handshakeTimeoutMs: 5000,
        maxUnauthenticatedConnections: 64,
        nonMemberPeersMax: 8,
      },
      systemProperties: {
        superDigest: undefined,
        extendedTypesEnabled: true,
        forceSync: true,
        adminServer: {
          enabled: true,
          address: '0.0.0.0',
          port: 8080,
          commandUrl: '/commands',
          idleTimeoutMs: 30_000,
          forceHttps: false,
          portUnification: false,
          needClientAuth: false,
          // 3.9's snapshot and restore switches and their rate limit.
          snapshotEnabled: true,
          restoreEnabled: true,
          rateLimiterInterval: 300_000,
        },
        containerCheckIntervalMs: 60_000,
        enforceQuota: false,
        readOnlyModeEnabled: false,
        reconfigEnabled: false,
        skipAcl: false,
      },
      adminTls: undefined,
      metrics: undefined,
    });
  });

  it('derives session timeout defaults from tickTime', () => {
    const { config } = parseConfig(standalone('tickTime=100'));
    expect(config.minSessionTimeout).toBe(200);
    expect(config.maxSessionTimeout).toBe(2000);
  });

  it('accepts clientPort 0 (any free port) and maxClientCnxns 0 (unlimited)', () => {
    const { config } = parseConfig(standalone('clientPort=0', 'maxClientCnxns=0'));
    expect(config.clientPort).toBe(0);
    expect(config.maxClientCnxns).toBe(0);
  });

  it.each([
    ['tickTime=abc', 'tickTime', 'invalid tickTime: "abc" (expected a positive integer)'],
    ['tickTime=0', 'tickTime', 'invalid tickTime: "0"'],
    ['tickTime=-5', 'tickTime', 'invalid tickTime: "-5"'],
    ['tickTime=1.5', 'tickTime', 'invalid tickTime: "1.5"'],
    ['tickTime=', 'tickTime', 'invalid tickTime: ""'],
    ['tickTime=99999999999', 'tickTime', 'invalid tickTime: "99999999999"'],
    ['initLimit=0', 'initLimit', 'invalid initLimit: "0"'],
    ['syncLimit=x', 'syncLimit', 'invalid syncLimit: "x"'],
    ['clientPort=65536', 'clientPort', 'invalid clientPort: "65536"'],
    ['clientPort=-1', 'clientPort', 'invalid clientPort: "-1"'],
    [
      'clientPortAddress=127.0.0.1',
      'clientPortAddress',
      'invalid clientPortAddress: "127.0.0.1" (clientPort is not set)',
    ],
    ['maxClientCnxns=-1', 'maxClientCnxns', 'invalid maxClientCnxns: "-1"'],
    ['minSessionTimeout=0', 'minSessionTimeout', 'invalid minSessionTimeout: "0"'],
    ['maxSessionTimeout=ten', 'maxSessionTimeout', 'invalid maxSessionTimeout: "ten"'],
    ['snapCount=0', 'snapCount', 'invalid snapCount: "0"'],
    ['autopurge.snapRetainCount=three', 'autopurge.snapRetainCount', 'invalid autopurge.snapRetainCount'],
    ['autopurge.purgeInterval=-1', 'autopurge.purgeInterval', 'invalid autopurge.purgeInterval: "-1"'],
    ['jute.maxbuffer=0xZZ', 'jute.maxbuffer', 'invalid jute.maxbuffer: "0xZZ"'],
    ['jute.maxbuffer=0', 'jute.maxbuffer', 'invalid jute.maxbuffer: "0"'],
    ['4lw.commands.whitelist=ruok,oops', '4lw.commands.whitelist', 'unknown four-letter word "oops"'],
    ['peerType=leader', 'peerType', 'invalid peerType: "leader" (expected participant or observer)'],
    [
      'standaloneEnabled=yes',
      'standaloneEnabled',
      'invalid standaloneEnabled: "yes" (expected true or false)',
    ],
    ['dataLogDir=', 'dataLogDir', 'invalid dataLogDir: ""'],
  ])('rejects %s with a ConfigError naming %s', (line, key, message) => {
    const error = configError(() => parseConfig(standalone(line)));
    expect(error.key).toBe(key);
    expect(error.message).toContain(message);
  });

  it('requires dataDir', () => {
    const error = configError(() => parseConfig('tickTime=2000'));
    expect(error.key).toBe('dataDir');
    expect(error.message).toBe('dataDir is not set');
  });

  it('rejects minSessionTimeout larger than maxSessionTimeout, including against the default max', () => {
    const explicit = configError(() =>
      parseConfig(standalone('minSessionTimeout=5000', 'maxSessionTimeout=4000')),
    );
    expect(explicit.key).toBe('minSessionTimeout');
    expect(explicit.message).toContain('must not be larger than maxSessionTimeout 4000');
    expect(configError(() => parseConfig(standalone('minSessionTimeout=60001'))).key).toBe(
      'minSessionTimeout',
    );
    expect(configError(() => parseConfig(standalone('maxSessionTimeout=5999'))).key).toBe(
      'maxSessionTimeout',
    );
    const equal = parseConfig(standalone('minSessionTimeout=5000', 'maxSessionTimeout=5000')).config;
    expect([equal.minSessionTimeout, equal.maxSessionTimeout]).toEqual([5000, 5000]);
  });

  it('clamps autopurge.snapRetainCount below 3 to 3 with a warning', () => {
    for (const value of ['1', '0', '-4']) {
      const { config, warnings } = parseConfig(standalone(`autopurge.snapRetainCount=${value}`));
      expect(config.snapRetainCount).toBe(3);
      expect(warnings).toEqual([`invalid autopurge.snapRetainCount: ${value}; defaulting to 3`]);
    }
    expect(parseConfig(standalone('autopurge.snapRetainCount=7')).config.snapRetainCount).toBe(7);
  });

  it('accepts jute.maxbuffer in decimal or hex', () => {
    expect(parseConfig(standalone('jute.maxbuffer=0x400000')).config.juteMaxBuffer).toBe(4194304);
    expect(parseConfig(standalone('jute.maxbuffer=0XfFfFf')).config.juteMaxBuffer).toBe(0xfffff);
    expect(parseConfig(standalone('jute.maxbuffer=#10')).config.juteMaxBuffer).toBe(16);
    expect(parseConfig(standalone('jute.maxbuffer=1048575')).config.juteMaxBuffer).toBe(1048575);
    expect(configError(() => parseConfig(standalone('jute.maxbuffer=0x80000000'))).key).toBe(
      'jute.maxbuffer',
    );
  });

  describe('4lw.commands.whitelist', () => {
    it('maps * to all, even among other words', () => {
      expect(parseConfig(standalone('4lw.commands.whitelist=*')).config.fourLetterWords).toBe('all');
      expect(parseConfig(standalone('4lw.commands.whitelist=ruok, *')).config.fourLetterWords).toBe('all');
    });

    it('parses lists with spaces and empty items, always keeping srvr', () => {
      const words = parseConfig(standalone('4lw.commands.whitelist = stat , ruok,,  conf ,')).config
        .fourLetterWords;
      expect(words).toEqual(new Set(['srvr', 'stat', 'ruok', 'conf']));
      expect(parseConfig(standalone('4lw.commands.whitelist=')).config.fourLetterWords).toEqual(
        new Set(['srvr']),
      );
    });

    it('accepts every known four-letter word', () => {
      const list = [...FOUR_LETTER_WORDS].join(',');
      expect(parseConfig(standalone(`4lw.commands.whitelist=${list}`)).config.fourLetterWords).toEqual(
        FOUR_LETTER_WORDS,
      );
      expect(FOUR_LETTER_WORDS.size).toBe(18);
    });

    it('rejects words in the wrong case', () => {
      expect(configError(() => parseConfig(standalone('4lw.commands.whitelist=RUOK'))).message).toContain(
        'unknown four-letter word "RUOK"',
      );
    });
  });

  describe('warnings', () => {
    it('warns about unknown keys, with a hint for zookeeper.-prefixed known keys', () => {
      const { config, warnings } = parseConfig(
        standalone('electionPort=3888', 'zookeeper.snapCount=5', 'zookeeper.sasl.client=false'),
      );
      expect(warnings).toEqual([
        'unknown key electionPort (line 2) ignored',
        'unknown key zookeeper.snapCount (line 3) ignored (ZooKeeper ignores it too; did you mean snapCount= here, or -Dzookeeper.snapCount= on the command line?)',
        'unknown key zookeeper.sasl.client (line 4) ignored',
      ]);
      expect(config.snapCount).toBe(100000);
    });

    it('honours admin.* without a warning, and refuses values that cannot be used', () => {
      const on = parseConfig(
        standalone('admin.enableServer=true', 'admin.serverPort=9090', 'admin.commandURL=/cmds'),
      );
      expect(on.warnings).toEqual([]);
      expect(on.config.systemProperties.adminServer).toMatchObject({
        enabled: true,
        port: 9090,
        commandUrl: '/cmds',
      });
      expect(configError(() => parseConfig(standalone('admin.commandURL=cmds'))).key).toBe(
        'admin.commandURL',
      );
      const off = parseConfig(standalone('admin.enableServer=false', 'admin.serverPort=9090'));
      expect(off.warnings).toEqual([]);
      expect(off.config.systemProperties.adminServer).toMatchObject({ enabled: false, port: 9090 });
      expect(configError(() => parseConfig(standalone('admin.serverPort=99999'))).key).toBe(
        'admin.serverPort',
      );
      expect(configError(() => parseConfig(standalone('admin.enableServer=yes'))).key).toBe(
        'admin.enableServer',
      );
    });

    it('takes what ZooKeeper reads as system properties from zoo.cfg, by their names without zookeeper.', () => {
      const digest = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';
      const { config, warnings } = parseConfig(
        standalone(
          `DigestAuthenticationProvider.superDigest=${digest}`,
          'extendedTypesEnabled=false',
          'forceSync=no',
        ),
      );
      expect(warnings).toEqual([]);
      expect(config.systemProperties).toMatchObject({
        superDigest: digest,
        extendedTypesEnabled: false,
        forceSync: false,
      });
      // ZooKeeper reads only "no" as off.
      const lenient = parseConfig(standalone('forceSync=false'));
      expect(lenient.config.systemProperties.forceSync).toBe(true);
      expect(lenient.warnings).toEqual([
        'forceSync=false: only "no" turns fsync off, in ZooKeeper as here; it stays on',
      ]);
      expect(
        configError(() => parseConfig(standalone('DigestAuthenticationProvider.superDigest=nocolon'))).key,
      ).toBe('DigestAuthenticationProvider.superDigest');
      // A zookeeper.-prefixed key in zoo.cfg is zookeeper.zookeeper.X to ZooKeeper: ignored there, and here.
      const prefixed = parseConfig(standalone('zookeeper.extendedTypesEnabled=false'));
      expect(prefixed.config.systemProperties.extendedTypesEnabled).toBe(true);
      expect(prefixed.warnings[0]).toMatch(
        /^unknown key zookeeper\.extendedTypesEnabled \(line 2\) ignored \(ZooKeeper ignores it too/,
      );
    });

    it('honours -Dreadonlymode.enabled, and whitelists isro with it, as ZooKeeper does', () => {
      const { config } = parseConfig(standalone(), {
        systemProperties: new Map([['readonlymode.enabled', 'true']]),
      });
      expect(config.systemProperties.readOnlyModeEnabled).toBe(true);
      expect(config.fourLetterWords).toEqual(new Set(['srvr', 'isro']));
      expect(parseConfig(standalone()).config.fourLetterWords).toEqual(new Set(['srvr']));
    });

    it('honours reconfigEnabled (off by default, as ZooKeeper), without a warning', () => {
      expect(parseConfig(standalone()).config.systemProperties.reconfigEnabled).toBe(false);
      const { config, warnings } = parseConfig(standalone('reconfigEnabled=true'));
      expect(config.systemProperties.reconfigEnabled).toBe(true);
      expect(warnings).toEqual([]);
    });

    it('honours enforceQuota, from zoo.cfg and from -Dzookeeper.enforceQuota', () => {
      expect(parseConfig(standalone()).config.systemProperties.enforceQuota).toBe(false);
      const { config, warnings } = parseConfig(standalone('enforceQuota=true'));
      expect(config.systemProperties.enforceQuota).toBe(true);
      expect(warnings).toEqual([]);
    });

    it('warns about every system property it knows and cannot honour', () => {
      const { config, warnings } = parseConfig(
        standalone('skipACL=yes', 'digest.enabled=true', 'jute.maxbuffer.extrasize=1024'),
      );
      // skipACL is honoured where a reconfig checks its ACL, and said to be honoured no further.
      expect(config.systemProperties.skipAcl).toBe(true);
      expect(warnings).toEqual([
        'skipACL=yes: a reconfig skips its ACL check, as in ZooKeeper, but zabkit checks every other ACL, which ZooKeeper would skip',
        'digest.enabled=true has no effect: zabkit keeps no tree digest; its log and snapshots carry CRC-32s',
        'jute.maxbuffer.extrasize has no effect: each record is bounded by its frame (jute.maxbuffer)',
      ]);
      // What matches zabkit's behaviour is accepted without a word.
      expect(
        parseConfig(
          standalone(
            'skipACL=no',
            'digest.enabled=false',
            'readonlymode.enabled=false',
            'reconfigEnabled=false',
          ),
        ).warnings,
      ).toEqual([]);
    });

    it('takes -D flags as a JVM does: zookeeper.<key> below zoo.cfg, jute.maxbuffer above it', () => {
      const digest = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';
      const systemProperties = new Map([
        ['zookeeper.DigestAuthenticationProvider.superDigest', digest],
        ['zookeeper.forceSync', 'no'],
        ['zookeeper.4lw.commands.whitelist', 'ruok'],
        ['jute.maxbuffer', '4194304'],
        ['zookeeper.tickTime', '100'],
        ['sasl.client', 'x'],
      ]);
      const { config, warnings } = parseConfig(standalone('forceSync=yes', 'jute.maxbuffer=2000000'), {
        systemProperties,
      });
      expect(config.systemProperties.superDigest).toBe(digest);
      expect(config.systemProperties.forceSync).toBe(true);
      expect(config.fourLetterWords).toEqual(new Set(['srvr', 'ruok']));
      expect(config.juteMaxBuffer).toBe(4194304);
      expect(config.tickTime).toBe(3000);
      expect(warnings).toEqual([
        '-Dzookeeper.forceSync=no ignored: zoo.cfg sets forceSync=yes, which wins',
        "-Djute.maxbuffer=4194304 replaces zoo.cfg's 2000000, as ZooKeeper reads only the command line's",
        'unknown system property -Dzookeeper.tickTime ignored; ZooKeeper reads tickTime from zoo.cfg only',
        'unknown system property -Dsasl.client ignored',
      ]);
    });

    it('takes the container check interval from -Dznode.container.checkIntervalMs alone, as ZooKeeper does', () => {
      expect(parseConfig(standalone()).config.systemProperties.containerCheckIntervalMs).toBe(60_000);
      const { config } = parseConfig(standalone(), {
        systemProperties: new Map([['znode.container.checkIntervalMs', '250']]),
      });
      expect(config.systemProperties.containerCheckIntervalMs).toBe(250);
      // In zoo.cfg it becomes zookeeper.znode.container.checkIntervalMs, which nothing reads.
      const fromFile = parseConfig(standalone('znode.container.checkIntervalMs=250'));
      expect(fromFile.config.systemProperties.containerCheckIntervalMs).toBe(60_000);
      expect(fromFile.warnings).toEqual([
        expect.stringContaining('unknown key znode.container.checkIntervalMs'),
      ]);
      expect(() =>
        parseConfig(standalone(), { systemProperties: new Map([['znode.container.checkIntervalMs', '0']]) }),
      ).toThrow(/znode.container.checkIntervalMs/);
    });

    it('warns about a duplicated key and keeps the last value', () => {
      const { config, warnings } = parseConfig(standalone('tickTime=1000', 'tickTime=3000'));
      expect(config.tickTime).toBe(3000);
      expect(warnings).toEqual(['duplicate key tickTime (line 3); the last value wins']);
    });

    it('warns about a relative dataDir', () => {
      expect(parseConfig('dataDir=zk-data').warnings).toEqual(['dataDir zk-data is a relative path']);
    });
  });

  describe('properties syntax', () => {
    it('skips # and ! comments and blank lines, trims keys and values, accepts = : and space separators', () => {
      const text = [
        '# comment',
        '   ! another comment',
        '',
        '   \t',
        '  dataDir = /data  ',
        'tickTime:1500',
        'initLimit : 7',
        'syncLimit 4',
        'snapCount\t\t=  42',
        '#tickTime=1',
      ].join('\r\n');
      const { config, warnings } = parseConfig(text);
      expect(warnings).toEqual([]);
      expect(config).toMatchObject({
        dataDir: '/data',
        tickTime: 1500,
        initLimit: 7,
        syncLimit: 4,
        snapCount: 42,
      });
    });

    it('splits at the first separator only', () => {
      expect(parseProperties('a=b=c\nserver.1=h:1:2\nk:v:w\nflag')).toEqual([
        { key: 'a', value: 'b=c', line: 1 },
        { key: 'server.1', value: 'h:1:2', line: 2 },
        { key: 'k', value: 'v:w', line: 3 },
        { key: 'flag', value: '', line: 4 },
      ]);
    });
  });

  describe('server.N', () => {
    const ensemble = (...lines: string[]) => standalone('initLimit=5', 'syncLimit=2', ...lines);

    it('parses host:quorum:election with optional role and client part', () => {
      const { config } = parseConfig(
        ensemble(
          'server.1=10.0.0.1:2888:3888',
          'server.2=10.0.0.2:2889:3889:participant;2182',
          'server.3=10.0.0.3:2890:3890:OBSERVER;10.0.0.3:2183',
          'server.4=[2001:db8::4]:2888:3888:observer;[::1]:2184',
        ),
        { myid: 1 },
      );
      expect(config.servers.get(1)).toEqual({
        id: 1,
        host: '10.0.0.1',
        quorumPort: 2888,
        electionPort: 3888,
        role: 'participant',
      });
      expect(config.servers.get(2)).toMatchObject({ quorumPort: 2889, electionPort: 3889, clientPort: 2182 });
      expect(config.servers.get(2)?.clientAddress).toBe('0.0.0.0');
      expect(config.servers.get(3)).toMatchObject({
        role: 'observer',
        clientAddress: '10.0.0.3',
        clientPort: 2183,
      });
      expect(config.servers.get(4)).toEqual({
        id: 4,
        host: '2001:db8::4',
        quorumPort: 2888,
        electionPort: 3888,
        role: 'observer',
        clientAddress: '::1',
        clientPort: 2184,
      });
    });

    it('orders servers by id regardless of file order', () => {
      const { config } = parseConfig(ensemble('server.3=c:1:2', 'server.1=a:1:2', 'server.2=b:1:2'), {
        myid: 2,
      });
      expect([...config.servers.keys()]).toEqual([1, 2, 3]);
    });

    it.each([
      ['server.0=h:2888:3888', 'server.0', 'server id must be a positive integer'],
      ['server.x=h:2888:3888', 'server.x', 'server id must be a positive integer'],
      ['server.-1=h:2888:3888', 'server.-1', 'server id must be a positive integer'],
      ['server.1=h:2888', 'server.1', 'expected host:quorumPort:electionPort'],
      ['server.1=h:2888:3888:observer:extra', 'server.1', 'expected host:quorumPort'],
      ['server.1=:2888:3888', 'server.1', 'expected host:quorumPort'],
      ['server.1=h:0:3888', 'server.1', 'quorum port must be 1..65535'],
      ['server.1=h:2888:70000', 'server.1', 'election port must be 1..65535'],
      ['server.1=h:2888:2888', 'server.1', 'quorum and election ports must be different'],
      ['server.1=h:2888:3888:leader', 'server.1', 'expected participant or observer'],
      ['server.1=h:2888:3888;abc', 'server.1', 'client port must be 1..65535'],
      ['server.1=h:2888:3888;a:b:2181', 'server.1', 'expected host:quorumPort'],
      ['server.1=h:2888:3888;2181;2281', 'server.1', 'secure client ports are unsupported'],
      ['server.1=h:2888:3888|g:2888:3888', 'server.1', 'multiple addresses are unsupported'],
      ['server.1=[::1:2888:3888', 'server.1', 'expected host:quorumPort'],
    ])('rejects %s naming %s', (line, key, message) => {
      const error = configError(() => parseConfig(ensemble(line), { myid: 1 }));
      expect(error.key).toBe(key);
      expect(error.message).toContain(message);
    });

    it('rejects duplicate server ids, including 1 and 01', () => {
      const same = configError(() => parseConfig(ensemble('server.1=a:1:2', 'server.1=b:1:2'), { myid: 1 }));
      expect(same.key).toBe('server.1');
      expect(same.message).toContain('duplicate server id 1');
      const padded = configError(() =>
        parseConfig(ensemble('server.1=a:1:2', 'server.01=b:1:2'), { myid: 1 }),
      );
      expect(padded.key).toBe('server.01');
    });

    it('requires myid to be one of the servers', () => {
      const lines = ensemble('server.1=a:1:2', 'server.2=b:1:2', 'server.3=c:1:2');
      const missing = configError(() => parseConfig(lines));
      expect(missing.key).toBe('myid');
      expect(missing.message).toContain('one of 1, 2, 3');
      const wrong = configError(() => parseConfig(lines, { myid: 4 }));
      expect(wrong.key).toBe('myid');
      expect(wrong.message).toContain('"4"');
      expect(configError(() => parseConfig(lines, { myid: 1.5 })).key).toBe('myid');
      expect(parseConfig(lines, { myid: 3 }).config.myid).toBe(3);
    });

    it('requires initLimit and syncLimit in an ensemble', () => {
      const servers = ['server.1=a:1:2', 'server.2=b:1:2', 'server.3=c:1:2'];
      expect(configError(() => parseConfig(standalone('syncLimit=2', ...servers), { myid: 1 })).key).toBe(
        'initLimit',
      );
      expect(configError(() => parseConfig(standalone('initLimit=5', ...servers), { myid: 1 })).key).toBe(
        'syncLimit',
      );
    });

    it('rejects observers without participants', () => {
      const error = configError(() => parseConfig(ensemble('server.1=a:1:2:observer'), { myid: 1 }));
      expect(error.key).toBe('server.1');
    });

    it('warns about ensembles that tolerate no failure or have an even size', () => {
      expect(parseConfig(ensemble('server.1=a:1:2', 'server.2=b:1:2'), { myid: 1 }).warnings).toEqual([
        'no server failure will be tolerated: you need at least 3 participants',
      ]);
      const four = ensemble('server.1=a:1:2', 'server.2=b:1:2', 'server.3=c:1:2', 'server.4=d:1:2');
      expect(parseConfig(four, { myid: 1 }).warnings).toEqual([
        'non-optimal configuration: consider an odd number of participants',
      ]);
    });

    it('takes peerType from this server line, warning when peerType disagrees', () => {
      const lines = ['server.1=a:1:2', 'server.2=b:1:2', 'server.3=c:1:2', 'server.4=d:1:2:observer'];
      const observer = parseConfig(ensemble(...lines), { myid: 4 });
      expect(observer.config.peerType).toBe('observer');
      expect(observer.warnings).toEqual([]);
      const mismatch = parseConfig(ensemble('peerType=observer', ...lines), { myid: 1 });
      expect(mismatch.config.peerType).toBe('participant');
      expect(mismatch.warnings).toEqual([
        'peerType observer does not match server.1 (participant); using participant',
      ]);
    });

    it('takes the client port from this server line and rejects a conflicting clientPort', () => {
      const lines = ['server.1=a:1:2;127.0.0.1:2181', 'server.2=b:1:2;2182', 'server.3=c:1:2'];
      const one = parseConfig(ensemble(...lines), { myid: 1 }).config;
      expect([one.clientPort, one.clientPortAddress]).toEqual([2181, '127.0.0.1']);
      const three = parseConfig(ensemble('clientPort=2183', ...lines), { myid: 3 }).config;
      expect([three.clientPort, three.clientPortAddress]).toEqual([2183, undefined]);
      const conflict = configError(() => parseConfig(ensemble('clientPort=2999', ...lines), { myid: 2 }));
      expect(conflict.key).toBe('clientPort');
      const address = configError(() =>
        parseConfig(ensemble('clientPort=2181', 'clientPortAddress=10.1.1.1', ...lines), { myid: 1 }),
      );
      expect(address.key).toBe('clientPortAddress');
    });
  });

  it('round-trips generated numeric values', () => {
    const port = fc.integer({ min: 1, max: 65535 });
    fc.assert(
      fc.property(
        fc.record({
          tickTime: fc.integer({ min: 1, max: 100_000 }),
          clientPort: fc.integer({ min: 0, max: 65535 }),
          maxClientCnxns: fc.integer({ min: 0, max: 10_000 }),
          snapCount: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          snapRetainCount: fc.integer({ min: 3, max: 1000 }),
          purgeInterval: fc.integer({ min: 0, max: 1000 }),
          juteMaxBuffer: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          hex: fc.boolean(),
          sessions: fc.tuple(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 0, max: 1e6 })),
          ports: fc.uniqueArray(fc.tuple(port, port), { minLength: 1, maxLength: 7 }),
          separator: fc.constantFrom('=', ' = ', ':', ' '),
        }),
        (v) => {
          const servers = v.ports
            .filter(([quorum, election]) => quorum !== election)
            .map(([quorum, election], index) => `server.${index + 1}=host${index}:${quorum}:${election}`);
          fc.pre(servers.length > 0);
          const s = v.separator;
          const text = [
            `dataDir${s}/data`,
            `tickTime${s}${v.tickTime}`,
            `initLimit${s}10`,
            `syncLimit${s}5`,
            `clientPort${s}${v.clientPort}`,
            `maxClientCnxns${s}${v.maxClientCnxns}`,
            `minSessionTimeout${s}${v.sessions[0]}`,
            `maxSessionTimeout${s}${v.sessions[0] + v.sessions[1]}`,
            `snapCount${s}${v.snapCount}`,
            `autopurge.snapRetainCount${s}${v.snapRetainCount}`,
            `autopurge.purgeInterval${s}${v.purgeInterval}`,
            `jute.maxbuffer${s}${v.hex ? `0x${v.juteMaxBuffer.toString(16)}` : v.juteMaxBuffer}`,
            ...servers,
          ].join('\n');
          const { config } = parseConfig(text, { myid: 1 });
          expect(config).toMatchObject({
            tickTime: v.tickTime,
            clientPort: v.clientPort,
            maxClientCnxns: v.maxClientCnxns,
            minSessionTimeout: v.sessions[0],
            maxSessionTimeout: v.sessions[0] + v.sessions[1],
            snapCount: v.snapCount,
            snapRetainCount: v.snapRetainCount,
            purgeIntervalHours: v.purgeInterval,
            juteMaxBuffer: v.juteMaxBuffer,
          });
          expect(config.servers.size).toBe(servers.length);
          for (const [index, [quorum, election]] of v.ports.filter(([q, e]) => q !== e).entries()) {
            expect(config.servers.get(index + 1)).toMatchObject({
              quorumPort: quorum,
              electionPort: election,
            });
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('purgePolicyOf', () => {
  it('autopurge.purgeInterval=0 purges nothing; not set, a purge follows every snapshot; N hours spaces them', () => {
    const policy = (line: string) => purgePolicyOf(parseConfig(`dataDir=/tmp/zk\n${line}`).config);
    expect(policy('')).toEqual({ autoPurge: true, purgeIntervalMs: 0 });
    expect(policy('autopurge.purgeInterval=0')).toEqual({ autoPurge: false, purgeIntervalMs: 0 });
    expect(policy('autopurge.purgeInterval=2')).toEqual({ autoPurge: true, purgeIntervalMs: 7_200_000 });
  });
});

describe('loadConfigFile', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zabkit-config-'));
    dirs.push(dir);
    return dir;
  };
  const ensembleText = (dataDir: string) =>
    [
      `dataDir=${dataDir}`,
      'initLimit=5',
      'syncLimit=2',
      'server.1=a:1:2',
      'server.2=b:1:2',
      'server.3=c:1:2',
    ].join('\n');

  it('reads myid from <dataDir>/myid when not given', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'zoo.cfg'), ensembleText(dir));
    await writeFile(join(dir, 'myid'), '2\n');
    const { config } = await loadConfigFile(join(dir, 'zoo.cfg'));
    expect(config.myid).toBe(2);
    expect((await loadConfigFile(join(dir, 'zoo.cfg'), { myid: 3 })).config.myid).toBe(3);
  });

  it('fails naming myid when the myid file is missing or malformed', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'zoo.cfg'), ensembleText(dir));
    await expect(loadConfigFile(join(dir, 'zoo.cfg'))).rejects.toMatchObject({
      name: 'ConfigError',
      key: 'myid',
    });
    await writeFile(join(dir, 'myid'), 'two\n');
    await expect(loadConfigFile(join(dir, 'zoo.cfg'))).rejects.toMatchObject({
      key: 'myid',
      message: 'invalid myid: "two" (expected a positive integer)',
    });
  });

  it('readMyId reads the first line of <dataDir>/myid, or undefined when absent', async () => {
    const dir = await tempDir();
    expect(await readMyId(dir)).toBeUndefined();
    await writeFile(join(dir, 'myid'), ' 7 \nignored\n');
    expect(await readMyId(dir)).toBe(7);
    await writeFile(join(dir, 'myid'), '0\n');
    await expect(readMyId(dir)).rejects.toBeInstanceOf(ConfigError);
  });

  it('loads a standalone config without a myid file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'zoo.cfg'), `dataDir=${dir}\nclientPort=2181\n`);
    const { config } = await loadConfigFile(join(dir, 'zoo.cfg'));
    expect(config.myid).toBeUndefined();
    expect(config.clientPort).toBe(2181);
  });
});
