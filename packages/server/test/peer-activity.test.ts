import { afterEach, describe, expect, it } from 'vitest';
import { type Ensemble, jsonLogger, type LogLevel, startEnsemble } from '../src/index.js';

interface Line {
  readonly level: LogLevel;
  readonly msg: string;
  readonly serverId: number;
  readonly [field: string]: unknown;
}

let ensemble: Ensemble | undefined;
afterEach(async () => {
  await ensemble?.close();
  ensemble = undefined;
});

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('what a peer logs of the ensemble', () => {
  it('election rounds and outcomes, role changes with epoch and zxid, a quorum lost', async () => {
    const lines: Line[] = [];
    ensemble = await startEnsemble({
      servers: 3,
      tickTimeMs: 100,
      log: (id) => jsonLogger('debug', (line) => lines.push(JSON.parse(line) as Line), { serverId: id }),
    });
    const leader = await ensemble.waitForLeader();
    await until(
      () => lines.filter((l) => l.msg.startsWith('serving as')).length === 3,
      'three servers serving',
    );
    for (const id of [1, 2, 3]) {
      const own = lines.filter((l) => l.serverId === id);
      expect(own[0]).toMatchObject({ level: 'info', round: 1, reason: 'starting' });
      expect(own[0]!.msg).toBe('looking for a leader, election round 1: starting');
      const decided = own.find((l) => l.msg.includes('decided'))!;
      expect(decided.level).toBe('info');
      expect(decided.leader).toBe(leader);
      expect(decided.msg).toMatch(
        id === leader
          ? /^election round \d+ decided: leader after \d+ ms$/
          : /decided: follower of \d after \d+ ms$/,
      );
      const serving = own.find((l) => l.msg.startsWith('serving as'))!;
      expect(serving).toMatchObject({ level: 'info', currentEpoch: 1, leader });
      expect(serving.msg).toMatch(
        /^serving as (leader|follower of \d), epoch 1, zxid 0x[0-9a-f]+, \d+ ms after/,
      );
    }

    // Cut the leader off: it loses its quorum, the others lose their leader and elect anew.
    lines.length = 0;
    ensemble.network.isolate(leader);
    await until(
      () => lines.some((l) => l.serverId !== leader && l.msg.startsWith('serving as leader')),
      'a new leader',
    );
    const stepDown = lines.find((l) => l.serverId === leader && l.level === 'warn')!;
    expect(stepDown.msg).toMatch(/^lost the quorum: stepping down as leader of epoch 1 at zxid 0x[0-9a-f]+$/);
    expect(stepDown).toMatchObject({ was: 'leading', role: 'looking' });
    for (const id of [1, 2, 3].filter((other) => other !== leader)) {
      const lost = lines.find((l) => l.serverId === id && l.level === 'warn')!;
      expect(lost.msg).toMatch(new RegExp(`^no longer follower of ${leader} \\(epoch 1\\): `));
      const serving = lines.find((l) => l.serverId === id && l.msg.startsWith('serving as'))!;
      expect(serving.currentEpoch).toBe(2);
    }
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
