/**
 * @zabkit/codec: the binary encoding of what peers exchange and what storage keeps: peer
 * messages for the TCP transport; transactions, snapshots, epochs and the store's format
 * record for LevelDB storage. One schema per message or record drives both its encoder and
 * its checking decoder (schema.ts); every tag is an explicit number (tags.ts); golden bytes
 * in the tests pin every layout. One encoding, so a transaction reads the same on the wire
 * and on disk.
 *
 * @packageDocumentation
 */
export { PeerCodecError } from './codec-error.js';
export {
  defaultDataBytesMax,
  defaultListLengthMax,
  defaultPeerCodecLimits,
  defaultStringBytesMax,
  type PeerCodecLimits,
  resolveLimits,
} from './limits.js';
export {
  decodePeerMessage,
  encodePeerMessage,
  encodePeerMessageWithRoom,
  framePeerMessage,
  type PeerFrame,
  peerFramePrefixBytes,
  peerMessageBytes,
} from './peer-messages.js';
export {
  decodeEpochsRecord,
  decodeFormatRecord,
  decodeLogRecord,
  decodeManifest,
  decodeSessionSecretRecord,
  decodeSnapshotChunk,
  encodeEpochsRecord,
  encodeFormatRecord,
  encodeLogRecord,
  encodeManifest,
  encodeSessionSecretRecord,
  encodeSnapshotChunk,
  type LogRecord,
  type LogRecordDecoding,
  type LogRecordHeader,
  type Manifest,
  readLogRecordHeader,
  type SnapshotChunkDecoding,
  SnapshotChunkEncoder,
  StorageRecordError,
  type StorageRecordKind,
  sessionSecretMaxBytes,
  storageFormatVersion,
} from './storage-records.js';
export {
  createModes,
  distinctTags,
  errorCodes,
  learnerSyncModeTags,
  peerMessageTags,
  peerRoleTags,
  requestOpTags,
  txnKindTags,
} from './tags.js';
export { serverIdMax } from './txn-schema.js';
export {
  decodeSessions,
  decodeSnapshotNodes,
  decodeTxn,
  encodeSessions,
  encodeSnapshotNodes,
  encodeTxn,
} from './values.js';
