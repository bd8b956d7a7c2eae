/**
 * @zabkit/zk-format: Apache ZooKeeper's on-disk format, read and written from its sources'
 * facts, to move an ensemble's data into zabkit and back. `loadZooKeeperDataDir` loads a
 * data directory the way ZooKeeper 3.8 loads it at start-up (newest valid snapshot, the
 * logged transactions after it by ZooKeeper's replay rules, dead sessions' ephemerals
 * removed), `importIntoStorage` writes that state into any zabkit PeerStorage, and
 * `exportFromStorage` writes a zabkit store's state as a ZooKeeper snapshot. The readers and
 * writers of single files (`readTxnLogFile`, `readSnapshot`, `encodeSnapshot`, ...) are the
 * tools' building blocks. Bad input is a ZkFormatError naming the file and the offset.
 *
 * @packageDocumentation
 */
export {
  type ExportSummary,
  exportFromStorage,
  type ImportSummary,
  importedEpochs,
  importIntoStorage,
  snapshotFileName,
  stateOf,
  toSnapshotContent,
  toTreeSnapshot,
  writeZooKeeperDataDir,
} from './convert.js';
export {
  loadZooKeeperDataDir,
  loadZooKeeperSnapshot,
  logFiles,
  resolveZooKeeperDir,
  snapshotFiles,
  type ZkLoaded,
  type ZkLoadOptions,
} from './data-dir.js';
export { ZkEndOfInput, ZkFormatError, type ZkFormatErrorCode } from './errors.js';
export { adler32, JuteReader, JuteWriter, juteLengthMax, juteMaxBufferDefault } from './jute.js';
export {
  encodeTxnEntry,
  encodeTxnRecord,
  type FileHeader,
  fileFormatVersion,
  opName,
  readTxnEntry,
  type StatPersisted,
  snapshotMagic,
  type TxnDecodeOptions,
  type TxnDigest,
  type TxnHeader,
  txnLogMagic,
  type ZkMultiPart,
  ZkOpCode,
  type ZkTxn,
  type ZkTxnEntry,
} from './records.js';
export {
  encodeSnapshot,
  looksLikeSnapshot,
  readSnapshot,
  type SnapshotContent,
  type SnapshotNodeRecord,
  type SnapshotSink,
  type SnapshotTrailer,
  snapshotStream,
  snapshotStreamMode,
  type ZxidDigest,
} from './snapshot.js';
export {
  encodeTxnLogFile,
  type LogEnd,
  type LogEntryAt,
  type LogFile,
  logFileName,
  readTxnLogFile,
  type ZkReadOptions,
  zxidFromFileName,
} from './txn-log.js';
export {
  type DigestReport,
  digestVersion,
  ZkDataTree,
  ZkNode,
  type ZkTreeOptions,
  zkNodeDigest,
} from './zk-tree.js';
