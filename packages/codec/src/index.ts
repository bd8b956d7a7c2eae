/**
 * @zabkit/codec: the binary encoding of what peers exchange and what storage keeps: peer
 * messages for the TCP transport, transactions and snapshot nodes for LevelDB storage. One
 * encoding, so a transaction reads the same on the wire and on disk.
 *
 * @packageDocumentation
 */
export {
  decodePeerMessage,
  decodeSessions,
  decodeSnapshotNodes,
  decodeTxn,
  encodePeerMessage,
  encodePeerMessageWithRoom,
  encodeSessions,
  encodeSnapshotNodes,
  encodeTxn,
  PeerCodecError,
} from './peer-codec.js';
