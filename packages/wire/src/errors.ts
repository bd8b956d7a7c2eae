/**
 * The typed failures of the codec. Decoding untrusted bytes may only ever fail with one of
 * these, so a server can tell "close this connection" (WireDecodeError) from "answer this
 * request with an error code" (RequestRejectedError) without catching bugs by accident.
 */
import { ErrorCode, type ErrorCodeValue } from '@zabkit/core';

/** Bytes that do not form the record they should: the connection cannot be trusted further. */
export class WireDecodeError extends Error {
  /** What was wrong, short and stable enough to log or match in tests. */
  readonly reason: string;

  constructor(reason: string) {
    super(`malformed ZooKeeper frame: ${reason}`);
    this.name = 'WireDecodeError';
    this.reason = reason;
  }
}

/** A frame header announcing a length the peer may not send (negative or above jute.maxbuffer). */
export class FrameTooLargeError extends WireDecodeError {
  /** The announced payload length. */
  readonly length: number;
  /** The largest payload accepted. */
  readonly maxFrameBytes: number;

  constructor(length: number, maxFrameBytes: number) {
    super(`frame length ${length} exceeds the maximum ${maxFrameBytes}`);
    this.name = 'FrameTooLargeError';
    this.length = length;
    this.maxFrameBytes = maxFrameBytes;
  }
}

/**
 * A well-framed request ZooKeeper answers with an error reply rather than by closing the
 * connection (an unknown opcode, invalid create flags, an unknown watch mode). Carries what
 * the server needs to answer in order: the xid, the opcode and the code to send.
 */
export class RequestRejectedError extends Error {
  readonly xid: number;
  readonly opcode: number;
  readonly code: ErrorCodeValue;
  /** Close the connection once the answer is sent, as ZooKeeper does for an unknown opcode. */
  readonly closesConnection: boolean;

  constructor(xid: number, opcode: number, code: ErrorCodeValue, detail: string, closesConnection = false) {
    super(`request xid ${xid} opcode ${opcode} rejected: ${detail}`);
    this.name = 'RequestRejectedError';
    this.xid = xid;
    this.opcode = opcode;
    this.code = code;
    this.closesConnection = closesConnection;
  }
}

/**
 * An opcode zabkit does not implement; ZooKeeper answers those with Unimplemented (-6), and
 * closes the connection after it for one its server does not know at all.
 */
export class UnknownOpCodeError extends RequestRejectedError {
  constructor(xid: number, opcode: number, closesConnection = false) {
    super(xid, opcode, ErrorCode.Unimplemented, 'unknown or unsupported opcode', closesConnection);
    this.name = 'UnknownOpCodeError';
  }
}

/** True for every error the decoders may throw on hostile input (and nothing else). */
export function isWireError(error: unknown): error is WireDecodeError | RequestRejectedError {
  return error instanceof WireDecodeError || error instanceof RequestRejectedError;
}
