/**
 * ACLs: identities, permissions, and ZooKeeper's rules for validating an ACL (fixupACL)
 * and checking one (checkACL). Schemes: world, auth (expanded at create/setACL time),
 * digest, ip (with CIDR), sasl (a user a SASL exchange proved), x509 (a client
 * certificate's subject), and super (a digest identity that matches the superDigest, or the
 * SASL or x509 super user).
 *
 * ZooKeeper knows sasl and x509 only once their providers are loaded (`authProvider.N`);
 * zabkit always knows them, and only its driver can hand a connection such an identity.
 */
import { encodeBase64 } from './acl/base64.js';
import { ipMatches, isValidIpAclExpression } from './acl/ip.js';
import { sha1 } from './acl/sha1.js';
import { isValidDistinguishedName } from './acl/x500.js';
import { ErrorCode, ZabError } from './errors.js';
import { decodeUtf8, encodeUtf8 } from './utf8.js';

/** ZooKeeper's permission bits: READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16, ALL 31. */
export const Perms = { Read: 1, Write: 2, Create: 4, Delete: 8, Admin: 16, All: 31 } as const;

/** An identity: a scheme (world, auth, digest, ip, sasl, x509, super) and an id in it. */
export interface Id {
  readonly scheme: string;
  readonly id: string;
}

/** One ACL entry: the permissions an identity has on a znode. */
export interface ACL {
  readonly perms: number;
  readonly id: Id;
}

const anyoneIdUnsafe: Id = { scheme: 'world', id: 'anyone' };
const authIds: Id = { scheme: 'auth', id: '' };

/** ZooKeeper's well-known identities and ACLs (ZooDefs.Ids). */
export const Ids = {
  anyoneIdUnsafe,
  authIds,
  /** Anyone may do anything. */
  openAclUnsafe: [{ perms: Perms.All, id: anyoneIdUnsafe }] as readonly ACL[],
  /** Every permission for the identities the creating session has authenticated as. */
  creatorAllAcl: [{ perms: Perms.All, id: authIds }] as readonly ACL[],
  /** Anyone may read. */
  readAclUnsafe: [{ perms: Perms.Read, id: anyoneIdUnsafe }] as readonly ACL[],
};

/** ZooKeeper's digest identity: `user:base64(sha1("user:password"))`. */
export function digestOf(user: string, password: string): string {
  return `${user}:${encodeBase64(sha1(encodeUtf8(`${user}:${password}`)))}`;
}

/** The digest identity for credentials written `user:password` (split at the first colon). */
export function digestIdFromCredentials(credentials: string): string {
  const colon = credentials.indexOf(':');
  return digestOf(credentials.slice(0, colon), credentials.slice(colon + 1));
}

/**
 * Schemes whose identities count for the `auth` scheme: those whose provider says it
 * authenticates (ZooKeeper's fixupACL). super has no provider, so ZooKeeper skips it: a
 * super user's `auth` ACL names its digest (sasl, x509) identity alone.
 */
const authenticatedSchemes = new Set(['digest', 'sasl', 'x509']);

/**
 * ZooKeeper's SASL provider takes an id that parses as a Kerberos name: `name[/host]@REALM`,
 * or a name with no `@` at all.
 */
function isValidSaslId(id: string): boolean {
  return !id.includes('@') || /^[^/@]*(\/[^/@]*)?@[^/@]*$/.test(id);
}

/** Java's String.split(":") drops trailing empty strings; ZooKeeper's digest check relies on it. */
function javaSplitCount(text: string, separator: string): number {
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.length;
}

function isValidId(id: Id): boolean {
  switch (id.scheme) {
    case 'digest':
      return javaSplitCount(id.id, ':') === 2;
    case 'ip':
      return isValidIpAclExpression(id.id);
    case 'sasl':
      return isValidSaslId(id.id);
    case 'x509':
      return isValidDistinguishedName(id.id);
    default:
      return false;
  }
}

/** True when two ACLs hold the same entries in the same order. */
export function sameAcl(a: ACL, b: ACL): boolean {
  return a.perms === b.perms && a.id.scheme === b.id.scheme && a.id.id === b.id.id;
}

/**
 * Validates an ACL for create or setACL and expands the `auth` scheme, as ZooKeeper's
 * fixupACL does: duplicates dropped, InvalidACL for an empty list, an unknown scheme, a
 * malformed id, or `auth` from a session with no authenticated identity.
 */
export function fixupAcl(path: string, authInfo: readonly Id[], acl: readonly ACL[]): ACL[] {
  const unique: ACL[] = [];
  for (const entry of acl) {
    if (entry === null || entry === undefined || entry.id === undefined || entry.id === null) {
      throw new ZabError(ErrorCode.InvalidACL, path);
    }
    if (!unique.some((known) => sameAcl(known, entry))) unique.push(entry);
  }
  if (unique.length === 0) throw new ZabError(ErrorCode.InvalidACL, path, 'the ACL is empty');
  const fixed: ACL[] = [];
  for (const entry of unique) {
    const { scheme, id } = entry.id;
    if (scheme === 'world' && id === 'anyone') {
      fixed.push(entry);
    } else if (scheme === 'auth') {
      const identities = authInfo.filter((known) => authenticatedSchemes.has(known.scheme));
      if (identities.length === 0)
        throw new ZabError(ErrorCode.InvalidACL, path, 'no authenticated identity for auth');
      for (const identity of identities) fixed.push({ perms: entry.perms, id: identity });
    } else if (isValidId(entry.id)) {
      fixed.push(entry);
    } else {
      throw new ZabError(ErrorCode.InvalidACL, path, `invalid id ${scheme}:${id}`);
    }
  }
  return fixed;
}

/**
 * True when identities `authInfo` hold any permission of `perm` under `acl`, as ZooKeeper's
 * checkACL decides: an empty ACL allows everything, super allows everything.
 */
export function checkAcl(acl: readonly ACL[], perm: number, authInfo: readonly Id[]): boolean {
  if (acl.length === 0) return true;
  if (authInfo.some((identity) => identity.scheme === 'super')) return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    const { scheme, id } = entry.id;
    if (scheme === 'world' && id === 'anyone') return true;
    for (const identity of authInfo) {
      if (identity.scheme !== scheme) continue;
      if (scheme === 'ip') {
        if (ipMatches(identity.id, id)) return true;
      } else if (identity.id === id) {
        // digest, x509: the same id. sasl too, and ZooKeeper's SASL provider also lets the
        // user named `super` pass any sasl entry.
        return true;
      } else if (scheme === 'sasl' && identity.id === 'super') {
        return true;
      }
    }
  }
  return false;
}

/**
 * The identities credentials prove, or `undefined` when they prove nothing (AuthFailed).
 * `digest` takes `user:password` in UTF-8; a match with `superDigest` adds the super
 * identity. `ip` succeeds whatever it is given and proves nothing new: ZooKeeper's provider
 * adds the client's own address, which every connection holds from the start.
 */
export function authenticate(scheme: string, auth: Uint8Array, superDigest?: string): Id[] | undefined {
  if (scheme === 'ip') return [];
  if (scheme !== 'digest') return undefined;
  const credentials = decodeUtf8(auth);
  if (!credentials.includes(':')) return undefined;
  const digest = digestIdFromCredentials(credentials);
  const identities: Id[] = [{ scheme: 'digest', id: digest }];
  if (superDigest !== undefined && digest === superDigest) identities.push({ scheme: 'super', id: '' });
  return identities;
}

/**
 * The user name ZooKeeper reports for an identity (whoAmI, AuthUtil.getUser): its
 * authentication provider's getUserName. A digest identity is `user:hash` and reports `user`
 * (the text before the first colon, as Java's split does); ip, sasl and x509 report the id
 * itself; super has no provider, and ZooKeeper reports an empty user for it.
 */
export function userNameOf(id: Id): string {
  switch (id.scheme) {
    case 'digest':
      return id.id.split(':', 1)[0]!;
    case 'ip':
    case 'sasl':
    case 'x509':
      return id.id;
    default:
      return '';
  }
}

const permLetters: readonly [string, number][] = [
  ['c', Perms.Create],
  ['d', Perms.Delete],
  ['r', Perms.Read],
  ['w', Perms.Write],
  ['a', Perms.Admin],
];

/** zkCli's form of an ACL entry: `world:anyone:cdrwa`. */
export function formatAcl(acl: ACL): string {
  const letters = permLetters.map(([letter, bit]) => ((acl.perms & bit) !== 0 ? letter : '')).join('');
  return `${acl.id.scheme}:${acl.id.id}:${letters}`;
}

/** Parses zkCli permission letters (`cdrwa`) into a bitmask. */
export function parsePerms(text: string): number {
  let perms = 0;
  for (const letter of text) {
    const bit = permLetters.find(([known]) => known === letter)?.[1];
    if (bit === undefined)
      throw new ZabError(ErrorCode.BadArguments, undefined, `unknown permission ${letter}`);
    perms |= bit;
  }
  return perms;
}
