/**
 * Framing: every frame is a 4-byte big-endian payload length and the payload.
 *
 * A connection opens with a handshake of tiny frames before any PeerMessage moves (see
 * handshake.ts for what they prove):
 *
 * - hello, dialler to acceptor: magic `ZABK`, version, kind 1, flags (bit 0: the dialler
 *   authenticates with the quorum secret), the dialler's server id and the id it means to
 *   reach (both float64, as server ids are safe integers), with the secret its 32-byte
 *   nonce, then (from version 3) the address the dialler's own peer port is reached at: its
 *   port (uint16) and its host (a length byte and that many latin1 bytes; port 0 and no host
 *   when it does not say). With it, a server outside the acceptor's membership can be dialled
 *   back, as ZooKeeper's initial message carries the sender's election address so that a
 *   server not yet added can connect and sync before a reconfig adds it. A version 2 hello
 *   (the same without the address) is still understood: the peer codec did not change;
 * - challenge, acceptor to dialler (secret only): kind 2, the acceptor's nonce, the acceptor's
 *   proof;
 * - proof, dialler to acceptor (secret only): kind 3, the dialler's proof;
 * - accept (kind 4) or refuse (kind 5 and a reason byte), acceptor to dialler.
 *
 * Only after accept does the dialler send PeerMessages, one per frame. The acceptor reads
 * handshake frames with a limit of {@link handshakeFrameBytesMax}, so a stranger's 64 MiB
 * length header is refused after 4 bytes.
 */
import type { ServerId } from '@zabkit/core';

/** Bytes the handshake starts with, so a stray client (or another protocol) is refused at once. */
export const protocolMagic = Buffer.from('ZABK', 'latin1');
/**
 * Bumped whenever the framing, the handshake or the peer codec changes. Version 3 added the
 * dialler's address to the hello; an acceptor still reads version 2 hellos.
 */
export const protocolVersion = 3;
/** The oldest hello version an acceptor still understands (the one without an address). */
export const protocolVersionOldest = 2;
/** The longest host a hello may carry, in bytes: a DNS name's limit. */
export const helloHostBytesMax = 253;
/** The largest handshake frame payload; anything longer before a peer is accepted closes the connection. */
export const handshakeFrameBytesMax = 320;
/** Bytes in each handshake nonce. */
export const nonceBytes = 32;
/** Bytes in each handshake proof (an HMAC-SHA256). */
export const proofBytes = 32;

/** Handshake frame kinds (the byte after the magic and version in a hello, the first byte otherwise). */
export const HandshakeKind = { hello: 1, challenge: 2, proof: 3, accept: 4, refuse: 5 } as const;

/** Why an acceptor refused a dialler; sent in a refuse frame so the dialler can log it. */
export const RefuseReason = {
  /** The id claimed is not a configured peer (or is partitioned away). */
  unknownPeer: 1,
  /** The hello names another server as the one it meant to reach. */
  wrongServer: 2,
  /** One side authenticates with the quorum secret and the other does not. */
  authMismatch: 3,
  /** The dialler's proof is wrong: it does not hold the quorum secret. */
  badProof: 4,
  /** The dialler's TLS certificate does not belong to the server id it claims. */
  certificateMismatch: 5,
  /**
   * The dialler is outside the membership and the acceptor already holds as many such
   * servers' links as it accepts (`nonMemberPeersMax`).
   */
  tooManyNonMembers: 6,
} as const;

/** A refuse reason's name, for logs. */
export type RefuseReasonName = keyof typeof RefuseReason;

const helloFixedBytes = protocolMagic.length + 1 + 1 + 1 + 8 + 8;
/** The address's port and host length, after the nonce in a version 3 hello. */
const helloAddressFixedBytes = 2 + 1;
const secretFlag = 1;

/** Where a dialler says its own peer port is reached; hosts are latin1 (names and IP literals). */
export interface HelloAddress {
  readonly host: string;
  readonly port: number;
}

/** A decoded hello. */
export interface Hello {
  /** The hello's version: 2 (no address) or 3. */
  readonly version: number;
  readonly from: ServerId;
  readonly to: ServerId;
  /** The dialler's nonce when it authenticates with the quorum secret. */
  readonly nonce: Buffer | undefined;
  /** Where the dialler's peer port is reached, when it said (version 3, port not 0). */
  readonly address: HelloAddress | undefined;
}

/** What the dialler reads back from the acceptor. */
export type AcceptorReply =
  | { readonly kind: 'challenge'; readonly nonce: Buffer; readonly proof: Buffer }
  | { readonly kind: 'accept' }
  | { readonly kind: 'refuse'; readonly reason: RefuseReasonName | 'unknown' };

/** Thrown by FrameReader for a length outside 1..maxFrameBytes. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

function framed(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

/**
 * A hello payload of `extraBytes` more than its fixed part, the fixed part written: magic,
 * `version`, kind, the secret flag, both ids, then the nonce when there is one.
 */
function helloPayload(
  version: number,
  from: ServerId,
  to: ServerId,
  nonce: Buffer | undefined,
  extraBytes: number,
): Buffer {
  if (nonce !== undefined && nonce.length !== nonceBytes) throw new RangeError('bad nonce length');
  const payload = Buffer.alloc(helloFixedBytes + (nonce?.length ?? 0) + extraBytes);
  protocolMagic.copy(payload, 0);
  let offset = protocolMagic.length;
  payload[offset++] = version;
  payload[offset++] = HandshakeKind.hello;
  payload[offset++] = nonce === undefined ? 0 : secretFlag;
  payload.writeDoubleBE(from, offset);
  payload.writeDoubleBE(to, offset + 8);
  nonce?.copy(payload, helloFixedBytes);
  return payload;
}

/**
 * The complete hello frame (length prefix included); `nonce` when authenticating with the
 * secret, `address` where the dialler's peer port is reached (so a server that does not know
 * it can dial back).
 */
export function encodeHello(from: ServerId, to: ServerId, nonce?: Buffer, address?: HelloAddress): Buffer {
  const host = Buffer.from(address?.host ?? '', 'latin1');
  const port = address?.port ?? 0;
  if (host.length > helloHostBytesMax) throw new RangeError(`host longer than ${helloHostBytesMax} bytes`);
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`bad port ${port}`);
  if ((port === 0) !== (host.length === 0)) throw new RangeError('an address has both a host and a port');
  const payload = helloPayload(protocolVersion, from, to, nonce, helloAddressFixedBytes + host.length);
  const offset = helloFixedBytes + (nonce?.length ?? 0);
  payload.writeUInt16BE(port, offset);
  payload[offset + 2] = host.length;
  host.copy(payload, offset + helloAddressFixedBytes);
  return framed(payload);
}

/**
 * A version 2 hello (no address), as zabkit before version 3 sent and read it: a dialler
 * sends it to a peer that closed on a version 3 hello without a word, which an acceptor of
 * version 2 does, so that links come up while an ensemble is upgraded one server at a time.
 */
export function encodeHelloV2(from: ServerId, to: ServerId, nonce?: Buffer): Buffer {
  return framed(helloPayload(protocolVersionOldest, from, to, nonce, 0));
}

/** The hello a payload holds (version 2 or 3), or undefined for anything that is not exactly one. */
export function decodeHello(payload: Buffer): Hello | undefined {
  if (payload.length < helloFixedBytes) return undefined;
  if (!payload.subarray(0, protocolMagic.length).equals(protocolMagic)) return undefined;
  let offset = protocolMagic.length;
  const version = payload[offset++]!;
  if (version < protocolVersionOldest || version > protocolVersion) return undefined;
  if (payload[offset++] !== HandshakeKind.hello) return undefined;
  const flags = payload[offset++]!;
  if ((flags & ~secretFlag) !== 0) return undefined;
  const noncePart = (flags & secretFlag) !== 0 ? nonceBytes : 0;
  const from = payload.readDoubleBE(offset);
  const to = payload.readDoubleBE(offset + 8);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < 0) return undefined;
  const afterNonce = helloFixedBytes + noncePart;
  const nonce = noncePart === 0 ? undefined : Buffer.from(payload.subarray(helloFixedBytes, afterNonce));
  if (version === 2) {
    if (payload.length !== afterNonce) return undefined;
    return { version, from, to, nonce, address: undefined };
  }
  if (payload.length < afterNonce + helloAddressFixedBytes) return undefined;
  const port = payload.readUInt16BE(afterNonce);
  const hostBytes = payload[afterNonce + 2]!;
  if (payload.length !== afterNonce + helloAddressFixedBytes + hostBytes) return undefined;
  if (hostBytes > helloHostBytesMax || (port === 0) !== (hostBytes === 0)) return undefined;
  const host = payload.toString('latin1', afterNonce + helloAddressFixedBytes);
  // A host is a name or an IP literal: printable ASCII, no spaces.
  if (!/^[\x21-\x7e]*$/.test(host)) return undefined;
  return { version, from, to, nonce, address: port === 0 ? undefined : { host, port } };
}

/** The challenge frame: the acceptor's nonce and proof. */
export function encodeChallenge(nonce: Buffer, proof: Buffer): Buffer {
  if (nonce.length !== nonceBytes || proof.length !== proofBytes) throw new RangeError('bad challenge');
  return framed(Buffer.concat([Buffer.of(HandshakeKind.challenge), nonce, proof]));
}

/** The proof frame the dialler answers a challenge with. */
export function encodeProof(proof: Buffer): Buffer {
  if (proof.length !== proofBytes) throw new RangeError('bad proof length');
  return framed(Buffer.concat([Buffer.of(HandshakeKind.proof), proof]));
}

/** The dialler's proof a payload holds, or undefined for anything that is not exactly one. */
export function decodeProof(payload: Buffer): Buffer | undefined {
  if (payload.length !== 1 + proofBytes || payload[0] !== HandshakeKind.proof) return undefined;
  return Buffer.from(payload.subarray(1));
}

/** The accept frame. */
export function encodeAccept(): Buffer {
  return framed(Buffer.of(HandshakeKind.accept));
}

/** The refuse frame with its reason. */
export function encodeRefuse(reason: RefuseReasonName): Buffer {
  return framed(Buffer.of(HandshakeKind.refuse, RefuseReason[reason]));
}

/** What an acceptor's frame says, or undefined for anything else. */
export function decodeAcceptorReply(payload: Buffer): AcceptorReply | undefined {
  switch (payload[0]) {
    case HandshakeKind.challenge:
      if (payload.length !== 1 + nonceBytes + proofBytes) return undefined;
      return {
        kind: 'challenge',
        nonce: Buffer.from(payload.subarray(1, 1 + nonceBytes)),
        proof: Buffer.from(payload.subarray(1 + nonceBytes)),
      };
    case HandshakeKind.accept:
      return payload.length === 1 ? { kind: 'accept' } : undefined;
    case HandshakeKind.refuse: {
      if (payload.length !== 2) return undefined;
      const name = (Object.keys(RefuseReason) as RefuseReasonName[]).find(
        (key) => RefuseReason[key] === payload[1],
      );
      return { kind: 'refuse', reason: name ?? 'unknown' };
    }
    default:
      return undefined;
  }
}

/**
 * Reassembles frames from a stream's chunks. Chunks are kept as a list and joined once per
 * frame, so a large snapshot arriving in many chunks costs one copy, not one per chunk.
 */
export class FrameReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  constructor(private maxFrameBytes: number) {}

  /** Bytes held and not yet returned as a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True while part of a frame (its length, perhaps no more) has come and the rest has not. */
  get midFrame(): boolean {
    return this.need >= 0 || this.buffered > 0;
  }

  /** Raises (or lowers) the frame limit, e.g. once the handshake is over. */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.maxFrameBytes = maxFrameBytes;
  }

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
