/**
 * Sessions and ephemerals: an ephemeral exists only while its owner's session lives, and a
 * session a client saw expire or close owns nothing.
 */
import type { DataTree } from '@zabkit/core';
import type { Violation } from '../world.js';

export function checkSessions(tree: DataTree, endedSessions: ReadonlySet<bigint>): Violation[] {
  const violations: Violation[] = [];
  for (const owner of tree.sessionsWithEphemerals()) {
    if (!tree.hasSession(owner)) {
      violations.push({
        check: 'sessions',
        message: `ephemerals ${tree.ephemeralsOf(owner).join(',')} outlive session ${owner}`,
      });
    }
    if (endedSessions.has(owner)) {
      violations.push({
        check: 'sessions',
        message: `session ${owner} ended but still owns ${tree.ephemeralsOf(owner).join(',')}`,
      });
    }
  }
  for (const ended of endedSessions) {
    if (ended !== 0n && tree.hasSession(ended))
      violations.push({ check: 'sessions', message: `session ${ended} ended but is still live` });
  }
  return violations;
}
