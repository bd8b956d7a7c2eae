import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DataTree,
  EnsembleConfigError,
  formatEnsembleConfig,
  makeZxid,
  parseEnsembleConfig,
  parseEnsembleMember,
  parseMemberIds,
  parseMemberList,
  quorumOfConfig,
  type Zxid,
  zeroZxid,
} from '../src/index.js';

describe('formatEnsembleConfig', () => {
  it('writes server.N lines in id order, roles, client suffixes and the version in hex, as ZooKeeper', () => {
    const text = formatEnsembleConfig({
      members: [
        { id: 3, host: '::1', quorumPort: 2890, electionPort: 3890, role: 'observer' },
        {
          id: 1,
          host: 'zk1.example',
          quorumPort: 2888,
          electionPort: 3888,
          role: 'participant',
          client: { address: '0.0.0.0', port: 2181 },
        },
        { id: 2, host: '10.0.0.2', quorumPort: 2889, electionPort: 3889, role: 'participant' },
      ],
      version: makeZxid(1, 0x2a),
    });
    expect(text).toBe(
      [
        'server.1=zk1.example:2888:3888:participant;0.0.0.0:2181',
        'server.2=10.0.0.2:2889:3889:participant',
        'server.3=[::1]:2890:3890:observer',
        'version=10000002a',
      ].join('\n'),
    );
  });
});

describe('/zookeeper/config in the tree', () => {
  it('is this server own: version -1, mzxid the config version, kept across snapshot loads, out of the digest time', () => {
    const tree = new DataTree();
    const data = new TextEncoder().encode('server.1=h:1:2:participant\nversion=0');
    tree.setEnsembleConfig(data, zeroZxid, 1234);
    const stat = tree.statOf('/zookeeper/config')!;
    expect([stat.version, stat.mzxid, stat.mtime, stat.dataLength, stat.aversion]).toEqual([
      -1,
      0n,
      1234,
      data.length,
      -1,
    ]);
    // A snapshot from another server (whose config node differs) leaves this server's own.
    const other = new DataTree();
    other.setEnsembleConfig(new TextEncoder().encode('elsewhere'), zeroZxid, 99);
    tree.loadSnapshot(other.snapshot());
    expect(tree.getNode('/zookeeper/config')?.data).toEqual(data);
    const later = new DataTree();
    later.setEnsembleConfig(data, zeroZxid, 5678);
    expect(later.digest()).toBe(tree.digest());
  });
});

describe('parsing membership text', () => {
  it('reads a server line in every form ZooKeeper takes', () => {
    expect(parseEnsembleMember('server.4=zk4:2888:3888')).toEqual({
      id: 4,
      host: 'zk4',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'participant',
    });
    expect(parseEnsembleMember(' server.5 = 10.0.0.5:2888:3888:observer;2181 ')).toEqual({
      id: 5,
      host: '10.0.0.5',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'observer',
      client: { address: '0.0.0.0', port: 2181 },
    });
    expect(parseEnsembleMember('server.6=[::1]:2890:3890:participant;[::1]:2186')).toEqual({
      id: 6,
      host: '::1',
      quorumPort: 2890,
      electionPort: 3890,
      role: 'participant',
      client: { address: '::1', port: 2186 },
    });
  });

  it('refuses what is not a server line, with the reason', () => {
    for (const [line, reason] of [
      ['server.x=h:1:2', 'not a server id'],
      ['server.255=h:1:2', 'exceeds 254'],
      ['server.1=h:1', 'needs host:quorumPort:electionPort'],
      ['server.1=h:1:2:voter', 'neither participant nor observer'],
      ['server.1=h:0:2', 'out of range'],
      ['server.1=h:1:70000', 'out of range'],
      ['server.1=h:1:2;a:b:c', 'is not [clientHost:]clientPort'],
      ['server.1=[::1:1:2', 'unclosed'],
      ['1=h:1:2', 'not a server.N=... line'],
    ] as const) {
      expect(() => parseEnsembleMember(line), line).toThrow(EnsembleConfigError);
      expect(() => parseEnsembleMember(line), line).toThrow(reason);
    }
  });

  it('reads member and id lists, refusing an id named twice', () => {
    expect(parseMemberList('server.1=a:1:2, server.2=b:1:2:observer').map((m) => [m.id, m.role])).toEqual([
      [1, 'participant'],
      [2, 'observer'],
    ]);
    expect(parseMemberIds(' 3, 4,5')).toEqual([3, 4, 5]);
    expect(parseMemberIds('')).toEqual([]);
    expect(() => parseMemberIds('3,3')).toThrow('named twice');
    expect(() => parseMemberList('server.1=a:1:2,server.1=b:1:2')).toThrow('named twice');
  });

  it('reads back what formatEnsembleConfig writes, for any membership', () => {
    const host = fc.oneof(fc.domain(), fc.ipV4(), fc.constantFrom('::1', 'fe80::1', '2001:db8::7'));
    const member = fc.record({
      host,
      quorumPort: fc.integer({ min: 1, max: 65535 }),
      electionPort: fc.integer({ min: 1, max: 65535 }),
      role: fc.constantFrom('participant' as const, 'observer' as const),
      client: fc.option(fc.record({ address: host, port: fc.integer({ min: 1, max: 65535 }) }), {
        nil: undefined,
      }),
    });
    const config = fc
      .uniqueArray(fc.tuple(fc.integer({ min: 0, max: 254 }), member), {
        minLength: 1,
        maxLength: 9,
        selector: ([id]) => id,
      })
      .map((entries) =>
        entries.map(([id, m]) => {
          const { client, ...rest } = m;
          return client === undefined ? { id, ...rest } : { id, ...rest, client };
        }),
      )
      .filter((members) => members.some((m) => m.role === 'participant'));
    fc.assert(
      fc.property(config, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (members, version) => {
        const text = formatEnsembleConfig({ members, version: version as Zxid });
        const parsed = parseEnsembleConfig(text);
        expect(parsed.version).toBe(version);
        expect(parsed.members).toEqual([...members].sort((a, b) => a.id - b.id));
        expect(formatEnsembleConfig(parsed)).toBe(text);
      }),
    );
  });

  it('refuses a configuration without a participant, or with two versions', () => {
    expect(() => parseEnsembleConfig('server.1=a:1:2:observer\nversion=0')).toThrow(
      'at least one participant',
    );
    expect(() => parseEnsembleConfig('server.1=a:1:2\nversion=0\nversion=1')).toThrow(
      'more than one version',
    );
    expect(() => parseEnsembleConfig('server.1=a:1:2\nversion=xyz')).toThrow('not a version in hex');
  });

  it('makes the quorum of its participants, observers following', () => {
    const quorum = quorumOfConfig(
      parseEnsembleConfig('server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2:observer'),
    );
    expect([...quorum.voters]).toEqual([1, 2]);
    expect([...quorum.observers]).toEqual([3]);
  });
});
