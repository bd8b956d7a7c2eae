/**
 * @zabkit/wire: ZooKeeper's client protocol (jute) as a pure codec. Bytes in, core's
 * request and reply types out, and back; no I/O, so the TCP server, the TCP client and the
 * tests share one implementation of the layout.
 *
 * @packageDocumentation
 */

export {
  type ConnectRequestFields,
  type ConnectRequestFrame,
  type ConnectResponseFields,
  type ConnectResponseFrame,
  decodeConnectRequest,
  decodeConnectResponse,
  encodeConnectRequest,
  encodeConnectResponse,
} from './connect.js';
export { defaultMaxFrameBytes, OpCode, type OpCodeValue, protocolVersion, Xid } from './constants.js';
export {
  FrameTooLargeError,
  isWireError,
  RequestRejectedError,
  UnknownOpCodeError,
  WireDecodeError,
} from './errors.js';
export { FrameDecoder, fourLetterWordOf, fourLetterWords } from './frames.js';
export { JuteReader, JuteWriter } from './jute.js';
export { readAcl, readStat, writeAcl, writeStat } from './records.js';
export {
  type DecodedReply,
  type DecodedWatcherEvent,
  decodeReply,
  decodeWatcherEvent,
  encodeError,
  encodeReply,
  encodeWatcherEvent,
  opNameOf,
  peekXid,
  type ReplyShape,
  writeReply,
  writeWatcherEvent,
} from './replies.js';
export {
  type DecodedRequest,
  decodeRequest,
  type EncodeOptions,
  encodeRequest,
  opcodeOf,
} from './requests.js';
