/**
 * Peer authentication with a shared secret: a mutual challenge-response, in the manner of
 * ZooKeeper's quorum SASL DIGEST-MD5, with HMAC-SHA256.
 *
 * The dialler sends its nonce N_d with the id it claims (`from`) and the id it means to reach
 * (`to`). The acceptor answers with its own nonce N_a and
 * `HMAC(secret, "zabkit quorum v2 acceptor" | from | to | N_d | N_a)`; the dialler checks that
 * and answers `HMAC(secret, "zabkit quorum v2 dialler" | from | to | N_d | N_a)`, which the
 * acceptor checks before it decodes anything else the dialler sends. Both nonces are fresh
 * and random, so no proof can be replayed; the role label keeps one side's proof from serving
 * as the other's; both ids are bound in, so a proof made for one pair of servers says nothing
 * about another.
 *
 * What this does not do: the secret is the ensemble's, so it proves membership, not which
 * member (TLS certificates with hostname verification bind a connection to one server id);
 * and it authenticates the start of a connection, not each frame, so it does not stand
 * against an attacker on the path who can rewrite TCP segments (TLS does).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerId } from '@zabkit/core';
import { nonceBytes, proofBytes } from './frames.js';

/** Which end of a connection computes a proof. */
export type HandshakeRole = 'acceptor' | 'dialler';

/** A fresh random nonce. */
export function newNonce(): Buffer {
  return randomBytes(nonceBytes);
}

/** The proof `role` gives on a connection from `from` to `to` with the two nonces. */
export function handshakeProof(
  secret: Uint8Array,
  role: HandshakeRole,
  from: ServerId,
  to: ServerId,
  diallerNonce: Buffer,
  acceptorNonce: Buffer,
): Buffer {
  const ids = Buffer.alloc(16);
  ids.writeDoubleBE(from, 0);
  ids.writeDoubleBE(to, 8);
  const proof = createHmac('sha256', secret)
    .update(`zabkit quorum v2 ${role}\0`, 'latin1')
    .update(ids)
    .update(diallerNonce)
    .update(acceptorNonce)
    .digest();
  if (proof.length !== proofBytes) throw new Error('HMAC-SHA256 gave an unexpected length');
  return proof;
}

/** Compares a received proof with the expected one in constant time. */
export function proofMatches(expected: Buffer, received: Buffer): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}
