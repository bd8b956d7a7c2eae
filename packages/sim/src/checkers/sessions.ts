/**
 * Sessions and ephemerals: an ephemeral exists only while its owner's session lives, and a
 * session a client saw expire or close owns nothing.
 */
import type { SessionSummary } from '@zabkit/core';
import type { Violation } from '../world.js';

export function checkSessions(summary: SessionSummary, endedSessions: ReadonlySet<bigint>): Violation[] {
  const violations: Violation[] = [];
  for (const [owner, ephemerals] of summary.ephemeralsByOwner) {
    if (!summary.sessions.has(owner)) {
      violations.push({
        check: 'sessions',
        message: `ephemerals ${ephemerals.join(',')} outlive session ${owner}`,
      });
    }
    if (endedSessions.has(owner)) {
      violations.push({
        check: 'sessions',
        message: `session ${owner} ended but still owns ${ephemerals.join(',')}`,
      });
    }
  }
  for (const ended of endedSessions) {
    if (ended !== 0n && summary.sessions.has(ended))
      violations.push({ check: 'sessions', message: `session ${ended} ended but is still live` });
  }
  return violations;
}
