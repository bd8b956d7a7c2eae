/**
 * UTF-8 through the TextEncoder/TextDecoder globals, which every JavaScript runtime has.
 * Declared here because core compiles without DOM or Node typings, to stay pure.
 */
declare const TextEncoder: new () => { encode(text: string): Uint8Array };
declare const TextDecoder: new () => { decode(bytes: Uint8Array): string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A string to UTF-8 bytes. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Bytes to a string, as ZooKeeper decodes paths and ids. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
