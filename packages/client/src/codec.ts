/**
 * Typed znode data: a codec turns a value into the bytes stored in a znode and back, so that
 * `getData`, `setData`, `create` and `update` can speak in strings or JSON values instead of
 * bytes: `zk.getData('/config', { codec: json<Config>() })`.
 */

/** Turns values of type T into znode bytes and back. */
export interface DataCodec<T> {
  /** The bytes to store for `value`. */
  encode(value: T): Uint8Array;
  /** The value stored in `bytes`; throws when they do not hold one. */
  decode(bytes: Uint8Array): T;
}

const encoder = new TextEncoder();

/** Strings as UTF-8; bytes that are not valid UTF-8 are refused rather than mangled. */
export const utf8: DataCodec<string> = {
  encode: (value) => encoder.encode(value),
  decode: (bytes) => new TextDecoder('utf-8', { fatal: true }).decode(bytes),
};

/**
 * JSON values as UTF-8 text. Decoding empty data throws (an empty znode holds no JSON value);
 * what `JSON.parse` accepts is not checked against T: validate it if the data is untrusted.
 */
export function json<T = unknown>(): DataCodec<T> {
  return {
    encode: (value) => encoder.encode(JSON.stringify(value)),
    decode: (bytes) => JSON.parse(utf8.decode(bytes)) as T,
  };
}
