/**
 * ACL lists shared between znodes, as ZooKeeper's ReferenceCountedACLCache shares them: almost
 * every znode of a tree has one of a handful of ACLs, yet each create (and each node read from
 * a snapshot) brings a list of its own, about 170 bytes of objects and strings per znode. The
 * tree keeps one list per distinct ACL, counted by the nodes that hold it, and forgets it with
 * the last one, so that ACLs no node has any more take no memory.
 */
import type { ACL } from '../acl.js';
import { assert } from '../errors.js';

interface Entry {
  readonly key: string;
  readonly acl: readonly ACL[];
  refs: number;
}

/** One shared list per distinct ACL, with the number of znodes holding it. */
export class AclCache {
  private readonly byKey = new Map<string, Entry>();
  /** The shared lists themselves, so that a list the tree handed out is found without a key. */
  private readonly byList = new Map<readonly ACL[], Entry>();

  /** The entry acquired last: a tree restored or written in bulk asks for the same ACL in a row. */
  private last: Entry | undefined;

  /** The shared list equal to `acl` (entry for entry, in order), counted once more. */
  acquire(acl: readonly ACL[]): readonly ACL[] {
    let entry = this.byList.get(acl);
    if (entry === undefined && this.last !== undefined && this.last.refs > 0 && sameAcl(this.last.acl, acl))
      entry = this.last;
    if (entry === undefined) {
      const key = aclKey(acl);
      entry = this.byKey.get(key);
      if (entry === undefined) {
        entry = { key, acl, refs: 0 };
        this.byKey.set(key, entry);
        this.byList.set(acl, entry);
      }
    }
    entry.refs++;
    this.last = entry;
    return entry.acl;
  }

  /**
   * One znode less holds `acl`. A list this cache never handed out (a node moved in from
   * another tree's state) has nothing to count: that costs sharing, never correctness, so it is
   * passed over rather than failing a commit.
   */
  release(acl: readonly ACL[]): void {
    const entry = this.byList.get(acl);
    if (entry === undefined) return;
    assert(entry.refs > 0, 'an ACL list released more often than acquired');
    if (--entry.refs > 0) return;
    this.byKey.delete(entry.key);
    this.byList.delete(acl);
  }

  /** How many distinct ACLs znodes hold. */
  get size(): number {
    return this.byKey.size;
  }

  /** Forgets every list. */
  clear(): void {
    this.byKey.clear();
    this.byList.clear();
    this.last = undefined;
  }
}

function sameAcl(a: readonly ACL[], b: readonly ACL[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.perms !== y.perms || x.id.scheme !== y.id.scheme || x.id.id !== y.id.id) return false;
  }
  return true;
}

/** A key equal for equal lists and different for different ones: lengths make it unambiguous. */
function aclKey(acl: readonly ACL[]): string {
  let key = '';
  for (const entry of acl) {
    const { scheme, id } = entry.id;
    key += `${entry.perms}:${scheme.length}:${scheme}${id.length}:${id};`;
  }
  return key;
}
