/**
 * Who a client connection is: the identities ACLs are checked against. Every connection
 * starts as its `ip`; `addauth` adds what a scheme's provider vouches for (digest, the super
 * user). The list is replaced, never changed in place, so a write handed to the commit path
 * keeps the identities it was sent with however the connection authenticates later.
 */
import { authenticate, type Id, userNameOf } from '../acl.js';
import { assert, ErrorCode } from '../errors.js';
import type { Reply } from '../requests.js';

/** The identities of one connection. */
export class ConnectionAuth {
  private current: readonly Id[];

  constructor(clientAddress: string) {
    this.current = [{ scheme: 'ip', id: clientAddress }];
  }

  /** The identities now; the array is never changed afterwards. */
  get authInfo(): readonly Id[] {
    return this.current;
  }

  /**
   * Answers `addauth`: AuthFailed when the scheme's provider refuses the credentials,
   * otherwise each new identity is added (one already held is not added twice).
   */
  addAuth(scheme: string, auth: Uint8Array, superDigest: string | undefined): Reply<'auth'> {
    const ids = authenticate(scheme, auth, superDigest);
    if (ids === undefined) return { ok: false, op: 'auth', code: ErrorCode.AuthFailed };
    this.addVerified(ids);
    return { ok: true, op: 'auth', result: {} };
  }

  /**
   * Adds identities something other than `addauth` vouched for (a certificate, a SASL
   * exchange, both checked by the driver); one already held is not added twice.
   */
  addVerified(ids: readonly Id[]): void {
    let next = this.current;
    for (const id of ids) if (!next.some((known) => sameId(known, id))) next = [...next, id];
    this.current = next;
    for (const id of ids) assert(this.holds(id), 'an accepted identity is held once added');
  }

  /** Whether any identity held is of one of `schemes` (enforce.auth.schemes). */
  holdsAnyOf(schemes: readonly string[]): boolean {
    return this.current.some((id) => schemes.includes(id.scheme));
  }

  /** Answers `whoami`: each identity's scheme and user, as ZooKeeper's providers name them. */
  whoAmI(): Reply<'whoAmI'> {
    const clientInfo = this.current.map((id) => ({ authScheme: id.scheme, user: userNameOf(id) }));
    return { ok: true, op: 'whoAmI', result: { clientInfo } };
  }

  private holds(id: Id): boolean {
    return this.current.some((known) => sameId(known, id));
  }
}

function sameId(a: Id, b: Id): boolean {
  return a.scheme === b.scheme && a.id === b.id;
}
