/** The client port's keys in zoo.cfg: defaults, ZooKeeper's names, and errors naming the key. */
import { describe, expect, it } from 'vitest';
import { outstandingShare } from '../src/client-limits.js';
import { ConfigError, parseConfig } from '../src/config.js';

const base = 'dataDir=/tmp/zk\nclientPort=2181\n';

describe('client port limits in zoo.cfg', () => {
  it('reads ZooKeeper names and zabkit ones without warnings', () => {
    const { config, warnings } = parseConfig(
      `${base}globalOutstandingLimit=500\nmaxCnxns=100\nnio.sessionlessCnxnTimeout=15000\n` +
        'zabkit.maxOutstandingPerConnection=64\nzabkit.clientWriteBufferHighWater=1048576\n' +
        'zabkit.clientWriteBufferMax=8388608\nzabkit.clientWriteStallTimeout=30000\n' +
        'netty.server.outstandingHandshake.limit=16\n',
    );
    expect(warnings).toEqual([]);
    expect(config.clientPortSettings).toEqual({
      globalOutstandingLimit: 500,
      limits: {
        maxConnections: 100,
        sessionlessTimeoutMs: 15_000,
        maxOutstandingPerConnection: 64,
        writeBufferHighWaterBytes: 1_048_576,
        writeBufferMaxBytes: 8_388_608,
        writeStallTimeoutMs: 30_000,
        tlsHandshakesMax: 16,
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
      auth: expect.objectContaining({ enforceAuthSchemes: [], loginConfig: undefined }),
    });
  });

  it.each([
    ['globalOutstandingLimit', '0'],
    ['globalOutstandingLimit', 'many'],
    ['maxCnxns', '-1'],
    ['nio.sessionlessCnxnTimeout', '0'],
    ['zabkit.maxOutstandingPerConnection', '1.5'],
    ['zabkit.clientWriteBufferHighWater', ''],
    ['zabkit.clientWriteStallTimeout', '-5'],
    ['audit.enable', 'yes'],
    ['audit.impl.class', 'org.apache.zookeeper.audit.Slf4jAuditLogger'],
    ['zabkit.audit.file', ''],
  ])('refuses %s=%s, naming the key', (key, value) => {
    let thrown: unknown;
    try {
      parseConfig(`${base}${key}=${value}\n`);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).key).toBe(key);
  });

  it('refuses a write buffer bound below its high-water mark', () => {
    expect(() =>
      parseConfig(`${base}zabkit.clientWriteBufferHighWater=1000\nzabkit.clientWriteBufferMax=999\n`),
    ).toThrow(/zabkit.clientWriteBufferMax.*must not be below/);
  });

  it('divides globalOutstandingLimit over an ensemble as ZooKeeper does', () => {
    expect(outstandingShare(1000, 1)).toBe(1000);
    expect(outstandingShare(1000, 2)).toBe(1000);
    expect(outstandingShare(1000, 3)).toBe(500);
    expect(outstandingShare(1000, 5)).toBe(250);
    expect(outstandingShare(1, 5)).toBe(1);
  });
});
