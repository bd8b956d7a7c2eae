/**
 * The one error the codec throws, for bytes that do not decode and for values that do not
 * encode. It names the field at fault as a path from the root of what was being read or
 * written, so a log line says where a message went wrong, not just that it did.
 */

/** Thrown for bytes that are not a well-formed encoding, or a value outside the types encoded. */
export class PeerCodecError extends Error {
  override readonly name = 'PeerCodecError';
  /**
   * The field at fault, from the root: `followerInfo.acceptedEpoch`,
   * `proposal.txns[2].body.path`; empty for the value as a whole (an unknown tag, trailing bytes).
   */
  field: string;

  constructor(
    field: string,
    /** What is wrong with the field: "truncated", "4294967296 is not in 0..4294967295", ... */
    readonly problem: string,
  ) {
    super(describe(field, problem));
    this.field = field;
  }

  /** Moves the error under `prefix` (a path ending in a field or an index), as an enclosing reader or writer sees it. */
  nest(prefix: string): PeerCodecError {
    this.field = joinPath(prefix, this.field);
    this.message = describe(this.field, this.problem);
    return this;
  }
}

function describe(field: string, problem: string): string {
  return field === '' ? problem : `${field}: ${problem}`;
}

/** `a.b` + `c` is `a.b.c`; `a.b` + `[3].c` is `a.b[3].c`; either side may be empty. */
export function joinPath(prefix: string, rest: string): string {
  if (prefix === '') return rest;
  if (rest === '') return prefix;
  return rest.startsWith('[') ? `${prefix}${rest}` : `${prefix}.${rest}`;
}

/**
 * Any failure under `prefix` as a PeerCodecError there. Errors other than ours come from
 * values that are not what the types say (a null where an object belongs, a Buffer method
 * rejecting an argument); they are reported the same way.
 */
export function nestError(error: unknown, prefix: string): PeerCodecError {
  if (error instanceof PeerCodecError) return error.nest(prefix);
  return new PeerCodecError(prefix, error instanceof Error ? error.message : String(error));
}
