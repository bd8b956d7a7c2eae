/**
 * ZooKeeper's error codes, with the numbers the wire protocol carries, and the typed error
 * zabkit raises for them. Expected outcomes (NoNode, BadVersion, ...) travel as codes in
 * replies; `ZabError` is what the client turns them into.
 */
export const ErrorCode = {
  Ok: 0,
  SystemError: -1,
  RuntimeInconsistency: -2,
  DataInconsistency: -3,
  ConnectionLoss: -4,
  MarshallingError: -5,
  Unimplemented: -6,
  OperationTimeout: -7,
  BadArguments: -8,
  UnknownSession: -12,
  NewConfigNoQuorum: -13,
  ReconfigInProgress: -14,
  APIError: -100,
  NoNode: -101,
  NoAuth: -102,
  BadVersion: -103,
  NoChildrenForEphemerals: -108,
  NodeExists: -110,
  NotEmpty: -111,
  SessionExpired: -112,
  InvalidCallback: -113,
  InvalidACL: -114,
  AuthFailed: -115,
  SessionMoved: -118,
  NotReadOnly: -119,
  EphemeralOnLocalSession: -120,
  NoWatcher: -121,
  RequestTimeout: -122,
  ReconfigDisabled: -123,
  SessionClosedRequireSaslAuth: -124,
  QuotaExceeded: -125,
  ThrottledOp: -127,
} as const;

/** The name of a ZooKeeper error code, as ZabError.is takes it. */
export type ErrorName = keyof typeof ErrorCode;
/** A ZooKeeper error code as the wire carries it (0 is Ok). */
export type ErrorCodeValue = (typeof ErrorCode)[ErrorName];

const namesByCode = new Map<number, ErrorName>(
  (Object.entries(ErrorCode) as [ErrorName, number][]).map(([name, code]) => [code, name]),
);

/** The name ZooKeeper gives an error code, or `undefined` for a number it does not define. */
export function errorName(code: number): ErrorName | undefined {
  return namesByCode.get(code);
}

/** True for a number that is one of ZooKeeper's error codes (Ok included). */
export function isErrorCode(code: number): code is ErrorCodeValue {
  return namesByCode.has(code);
}

/**
 * The error every zabkit API rejects with for a ZooKeeper outcome. `code` is ZooKeeper's
 * number, `name` its name; `path` is the znode the operation named, when there is one.
 */
export class ZabError extends Error {
  readonly code: ErrorCodeValue;
  readonly codeName: ErrorName;
  readonly path: string | undefined;

  constructor(code: ErrorCodeValue, path?: string, detail?: string) {
    const codeName = errorName(code) ?? 'SystemError';
    const where = path === undefined ? '' : ` for ${path}`;
    super(`${codeName}${where}${detail === undefined ? '' : `: ${detail}`}`);
    this.name = 'ZabError';
    this.code = code;
    this.codeName = codeName;
    this.path = path;
  }

  /** True when this error carries the named ZooKeeper code. */
  is(name: ErrorName): boolean {
    return this.codeName === name;
  }
}

/** A broken invariant: a bug in zabkit, never an expected outcome. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`zabkit invariant broken: ${message}`);
    this.name = 'AssertionError';
  }
}

/**
 * Asserts an invariant. Stays on in production, as TigerBeetle's asserts do. A message that
 * formats values (zxids above all: bigint to string is dear) is passed as a function, so an
 * assertion on a hot path costs only its condition while it holds.
 */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === 'string' ? message : message());
}

/** Exhaustiveness check for discriminated unions. */
export function assertNever(value: never, what = 'value'): never {
  throw new AssertionError(
    `unexpected ${what}: ${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
  );
}
