/** Small constructors for requests, so tests read like the operations they perform. */
import type { ACL, ClientRequest, CreateModeValue, MultiOp } from '../src/index.js';
import { CreateMode, Ids } from '../src/index.js';
import { bytes } from './harness.js';

export function create(
  path: string,
  options: { data?: string; mode?: CreateModeValue; acl?: readonly ACL[]; ttlMs?: bigint } = {},
): Extract<MultiOp, { op: 'create' }> {
  return {
    op: 'create',
    path,
    data: bytes(options.data ?? ''),
    acl: options.acl ?? Ids.openAclUnsafe,
    mode: options.mode ?? CreateMode.Persistent,
    ttlMs: options.ttlMs ?? -1n,
  };
}

export const del = (path: string, version = -1): Extract<MultiOp, { op: 'delete' }> => ({
  op: 'delete',
  path,
  version,
});
export const setData = (path: string, data: string, version = -1): Extract<MultiOp, { op: 'setData' }> => ({
  op: 'setData',
  path,
  data: bytes(data),
  version,
});
export const check = (path: string, version: number): Extract<MultiOp, { op: 'check' }> => ({
  op: 'check',
  path,
  version,
});
export const getData = (path: string, watch = false): ClientRequest => ({ op: 'getData', path, watch });
export const exists = (path: string, watch = false): ClientRequest => ({ op: 'exists', path, watch });
export const getChildren = (path: string, watch = false): ClientRequest => ({
  op: 'getChildren',
  path,
  watch,
});
export const setAcl = (path: string, acl: readonly ACL[], version = -1): ClientRequest => ({
  op: 'setACL',
  path,
  acl,
  version,
});
export const getAcl = (path: string): ClientRequest => ({ op: 'getACL', path });
export const multi = (...ops: MultiOp[]): ClientRequest => ({ op: 'multi', ops });
export const auth = (credentials: string): ClientRequest => ({
  op: 'auth',
  scheme: 'digest',
  auth: bytes(credentials),
});
