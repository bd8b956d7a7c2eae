/**
 * ZooKeeper's super user for tests that reconfigure: reconfig asks for it (or an ACL on
 * /zookeeper/config that nobody sets), so each such ensemble is started with its digest.
 */
import { connectTcp, type ZabClient } from '@zabkit/client';

/** What a client adds as digest auth. */
export const superAuth = 'super:test';
/** `superAuth` as ZooKeeper's DigestAuthenticationProvider hashes it. */
export const superDigest = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';
/** The system property that makes `superAuth` the super user, as a server's command line sets it. */
export const superDigestProperty = { 'zookeeper.DigestAuthenticationProvider.superDigest': superDigest };

/** A session to `connectString` authenticated as the super user. */
export async function connectAsSuper(connectString: string): Promise<ZabClient> {
  const client = await connectTcp(connectString, { sessionTimeoutMs: 10_000 });
  try {
    await client.addAuth('digest', superAuth);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  return client;
}
