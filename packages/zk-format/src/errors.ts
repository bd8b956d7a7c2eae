/**
 * The one error this package throws for bad input: it names the file and the byte offset,
 * and says with a stable code what is wrong, so an operator can find the damage and a
 * program can tell a torn tail from a checksum mismatch.
 */

/** What is wrong with a ZooKeeper file. */
export type ZkFormatErrorCode =
  /** The file ends inside a record. */
  | 'truncated'
  /** The file header's magic is not ZooKeeper's (`ZKSN` for snapshots, `ZKLG` for logs). */
  | 'badMagic'
  /** A checksum (a log entry's Adler32, a snapshot's seal) does not match the bytes. */
  | 'badChecksum'
  /** A length prefix ZooKeeper would refuse (negative, or beyond jute.maxbuffer). */
  | 'badLength'
  /** A transaction type ZooKeeper's loader does not know. */
  | 'unknownTxnType'
  /** A record that decodes but cannot be applied (a null path, a bad TTL, ...). */
  | 'badRecord'
  /** A snapshot whose tree is not a tree (a node before its parent, an unknown ACL). */
  | 'badTree'
  /** A format this reader does not implement (snappy-compressed snapshots). */
  | 'unsupported'
  /** The directory holds no usable ZooKeeper data, or holds logs without a snapshot. */
  | 'noSnapshot'
  /** An export's target already holds ZooKeeper data, which ZooKeeper would mix with the export. */
  | 'notEmpty';

/** Bad input in a ZooKeeper data directory, with the file and the offset where it is. */
export class ZkFormatError extends Error {
  constructor(
    readonly code: ZkFormatErrorCode,
    readonly file: string,
    /** Byte offset in the file (in the decompressed stream for a .gz snapshot); -1 for the file as a whole. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(offset >= 0 ? `${file} at offset ${offset}: ${reason}` : `${file}: ${reason}`);
    this.name = 'ZkFormatError';
  }
}

/**
 * The input ended inside a record. ZooKeeper's loader treats this as the end of a log file
 * (an EOFException), so readers catch it where ZooKeeper does and nowhere else.
 */
export class ZkEndOfInput extends ZkFormatError {
  constructor(file: string, offset: number, what: string) {
    super('truncated', file, offset, `the input ends inside ${what}`);
    this.name = 'ZkEndOfInput';
  }
}
