/**
 * Framing: every frame is a 4-byte big-endian payload length and the payload. The first
 * frame on a connection is the handshake naming the dialling peer; every later one is an
 * encoded PeerMessage.
 */
import type { ServerId } from '@zabkit/core';

/** Bytes the handshake starts with, so a stray client (or another protocol) is refused at once. */
export const protocolMagic = Buffer.from('ZABK', 'latin1');
/** Bumped whenever the framing or the peer codec changes incompatibly. */
export const protocolVersion = 1;

const handshakeLength = protocolMagic.length + 1 + 8;

/** Thrown by FrameReader for a length outside 1..maxFrameBytes. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** The complete handshake frame (length prefix included) a dialling peer sends first. */
export function encodeHandshakeFrame(serverId: ServerId): Buffer {
  const frame = Buffer.allocUnsafe(4 + handshakeLength);
  frame.writeUInt32BE(handshakeLength, 0);
  protocolMagic.copy(frame, 4);
  frame[4 + protocolMagic.length] = protocolVersion;
  frame.writeDoubleBE(serverId, 4 + protocolMagic.length + 1);
  return frame;
}

/** The server id a handshake payload names, or undefined for anything that is not one. */
export function decodeHandshake(payload: Buffer): ServerId | undefined {
  if (payload.length !== handshakeLength) return undefined;
  if (!payload.subarray(0, protocolMagic.length).equals(protocolMagic)) return undefined;
  if (payload[protocolMagic.length] !== protocolVersion) return undefined;
  const serverId = payload.readDoubleBE(protocolMagic.length + 1);
  return Number.isSafeInteger(serverId) ? serverId : undefined;
}

/**
 * Reassembles frames from a stream's chunks. Chunks are kept as a list and joined once per
 * frame, so a large snapshot arriving in many chunks costs one copy, not one per chunk.
 */
export class FrameReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Buffers a chunk as it came off the socket; call `next` to take the frames it completes. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete payload, or undefined until more bytes arrive; throws FrameError on a bad length. */
  next(): Buffer | undefined {
    if (this.need < 0) {
      if (this.buffered < 4) return undefined;
      const length = this.take(4).readUInt32BE(0);
      if (length === 0 || length > this.maxFrameBytes) throw new FrameError(`bad frame length ${length}`);
      this.need = length;
    }
    if (this.buffered < this.need) return undefined;
    const payload = this.take(this.need);
    this.need = -1;
    return payload;
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const chunk = this.chunks[0]!;
      const k = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, k);
      offset += k;
      if (k === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(k);
    }
    return out;
  }
}
