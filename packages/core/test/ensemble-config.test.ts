import { describe, expect, it } from 'vitest';
import { DataTree, formatEnsembleConfig, makeZxid, zeroZxid } from '../src/index.js';

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
