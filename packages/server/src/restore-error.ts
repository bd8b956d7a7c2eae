/**
 * A restore (the admin command) that this server will not do or could not get done: says why
 * and, where it can, what to do instead. The state is unchanged.
 *
 * @module
 */

/** A restore this server will not do: says why and what to do instead. */
export class RestoreRefusedError extends Error {
  override readonly name = 'RestoreRefusedError';
}
