/** The database the store runs on. */
import type { AbstractBatchOperation, AbstractLevel } from 'abstract-level';

/** A database of byte keys and byte values, as the store needs it. */
export type BytesLevel = AbstractLevel<Uint8Array, Uint8Array, Uint8Array>;

/** One operation of an atomic batch. */
export type Op = AbstractBatchOperation<BytesLevel, Uint8Array, Uint8Array>;
