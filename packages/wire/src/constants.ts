/**
 * The numbers of ZooKeeper's client protocol: opcodes (RequestHeader.type), the special
 * xids, and the limits, as ZooDefs.OpCode and ClientCnxn define them.
 */

/** Every opcode of ZooKeeper 3.9 (ZooDefs.OpCode), whether zabkit implements it or not. */
export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

/** One of the numbers in {@link OpCode}. */
export type OpCodeValue = (typeof OpCode)[keyof typeof OpCode];

/** The xids with a fixed meaning (ClientCnxn): replies with these are not matched to requests. */
export const Xid = {
  /** A watch notification from the server. */
  notification: -1,
  ping: -2,
  auth: -4,
  /** ZooKeeper's Java client re-sends watches with this; others use an ordinary xid. */
  setWatches: -8,
} as const;

/** jute.maxbuffer's default: the largest frame payload a ZooKeeper server accepts. */
export const defaultMaxFrameBytes = 0xfffff;

/** The protocol version every ZooKeeper client and server since 3.0 sends in the handshake. */
export const protocolVersion = 0;
