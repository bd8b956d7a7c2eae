/** The shell's failures, worded as zkCli words them. */
import { ZabError } from '@zabkit/client';

/** A failed command: its message is what the user sees (a usage line, a bad flag, ...). */
export class ShellError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellError';
  }
}

/**
 * ZooKeeper's error text for codes zkCli does not rephrase, after KeeperException's
 * `getCodeMessage`.
 */
const codeMessages: Readonly<Record<string, string>> = {
  ConnectionLoss: 'ConnectionLoss',
  SessionExpired: 'Session expired',
  SessionMoved: 'Session moved',
  NoWatcher: 'No such watcher',
  NotReadOnly: 'Not a read-only call',
  OperationTimeout: 'OperationTimeout',
  Unimplemented: 'Unimplemented',
  AuthFailed: 'AuthFailed',
  Unknown: 'Unknown',
  ReconfigDisabled: 'Reconfig is disabled',
};

/**
 * zkCli's wording of an error (its CliWrapperException): `Node does not exist: /a`,
 * `Node already exists: /a`, `version No is not valid : /a` and so on; other ZooKeeper codes
 * read `KeeperErrorCode = <code> for /a`. `path` names the znode when the error does not.
 */
export function describeError(error: unknown, path?: string): string {
  if (error instanceof ShellError) return error.message;
  if (!(error instanceof ZabError)) return error instanceof Error ? error.message : String(error);
  const at = error.path ?? path ?? '';
  switch (error.codeName) {
    case 'NoNode':
      return `Node does not exist: ${at}`;
    case 'NodeExists':
      return `Node already exists: ${at}`;
    case 'NotEmpty':
      return `Node not empty: ${at}`;
    case 'BadVersion':
      return `version No is not valid : ${at}`;
    case 'NoAuth':
      return `Insufficient permission : ${at}`;
    case 'NoChildrenForEphemerals':
      return `Ephemerals cannot have children: ${at}`;
    case 'InvalidACL':
      return `Acl is not valid : ${at}`;
    case 'BadArguments':
      return `Arguments are not valid : ${at}`;
    case 'NotReadOnly':
      return `Not a read-only call: ${at}`;
    case 'QuotaExceeded':
      return `Quota has exceeded : ${at}`;
    case 'ReconfigInProgress':
      return 'Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)';
    case 'NewConfigNoQuorum':
      return 'No quorum of new config is connected and up-to-date with the leader of last committed config - try invoking reconfiguration after new servers are connected and synced';
    default: {
      const name = codeMessages[error.codeName] ?? error.codeName;
      return `KeeperErrorCode = ${name}${at === '' ? '' : ` for ${at}`}`;
    }
  }
}
