/**
 * What the recipe tests share: in-process servers and sessions that are closed after each
 * test, and small waits. Sessions last as long as asked (maxSessionTimeoutMs), so a loaded
 * machine does not expire them.
 */
import type { ClientOptions, ZabClient } from '@zabkit/client';
import { LocalServer } from '@zabkit/server';
import { afterEach } from 'vitest';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Data as text, undefined for none. Null data is not empty text, so it fails the test rather than read as ''. */
export const text = (bytes: Uint8Array | null | undefined) => {
  if (bytes === null) throw new Error('expected data, got null');
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
};

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out waiting for a condition');
    await sleep(5);
  }
}

/** Servers and sessions for one test file, all closed after each test. */
export function useServers(tickTimeMs = 50) {
  const servers: LocalServer[] = [];
  const clients: ZabClient[] = [];
  let shared: LocalServer | undefined;
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    for (const server of servers.splice(0)) server.close();
    shared = undefined;
  });

  /** A fresh server. */
  const start = (): LocalServer => {
    const server = LocalServer.start({ tickTimeMs, maxSessionTimeoutMs: 20_000 });
    servers.push(server);
    return server;
  };

  /** `count` sessions on `server`. */
  const clientsOf = async (server: LocalServer, count: number, options: ClientOptions = {}) => {
    const made = await Promise.all(
      Array.from({ length: count }, () => server.client({ sessionTimeoutMs: 5000, ...options })),
    );
    clients.push(...made);
    return made;
  };

  /** `count` sessions on the test's one shared server. */
  const connect = (count: number, options: ClientOptions = {}) =>
    clientsOf((shared ??= start()), count, options);

  return { clients, start, clientsOf, connect };
}
