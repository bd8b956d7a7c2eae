/**
 * The server side of SASL DIGEST-MD5 (RFC 2831) as ZooKeeper's server runs it for clients
 * (Java's DigestMD5Server with protocol `zookeeper` and server name `zk-sasl-md5`): the
 * client's first token is empty and is answered with a challenge (realm, nonce, charset,
 * algorithm md5-sess, quality of protection `auth` only); its digest response is checked
 * against the user's password and answered with `rspauth`, which completes the exchange.
 * Anything else fails it. Integrity and confidentiality layers (auth-int, auth-conf) are not
 * offered, as ZooKeeper's server offers none.
 *
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  digestProtocol,
  digestResponse,
  digestServerName,
  parseDirectives,
  SaslFailure,
} from '@zabkit/client';

export { digestResponse, parseDirectives, SaslFailure };

/** Where the exchange finds a user's password; undefined for a user it does not know. */
export type PasswordOf = (user: string) => string | undefined;

type State =
  | { readonly step: 'start' }
  | { readonly step: 'challenged'; readonly nonce: string }
  | { readonly step: 'complete'; readonly user: string }
  | { readonly step: 'failed' };

/** One connection's DIGEST-MD5 exchange, server side. */
export class DigestMd5Server {
  private state: State = { step: 'start' };

  constructor(
    private readonly passwordOf: PasswordOf,
    /** The nonce's source; tests give a fixed one. */
    private readonly makeNonce: () => string = () => randomBytes(24).toString('base64'),
  ) {}

  /** Whether the client proved who it is. */
  get complete(): boolean {
    return this.state.step === 'complete';
  }

  /** The user the exchange proved (ZooKeeper's authorization id), once complete. */
  get user(): string | undefined {
    return this.state.step === 'complete' ? this.state.user : undefined;
  }

  /**
   * Takes the client's token and returns the server's.
   *
   * @throws {@link SaslFailure} when the token is malformed, out of turn, or proves nothing
   */
  evaluate(token: Uint8Array): Uint8Array {
    const state = this.state;
    this.state = { step: 'failed' };
    switch (state.step) {
      case 'start': {
        if (token.length !== 0) throw new SaslFailure('DIGEST-MD5 starts with an empty token');
        const nonce = this.makeNonce();
        this.state = { step: 'challenged', nonce };
        return Buffer.from(
          `realm="${digestServerName}",nonce="${nonce}",charset=utf-8,algorithm=md5-sess`,
          'utf8',
        );
      }
      case 'challenged': {
        const { user, rspauth } = this.checkResponse(state.nonce, token);
        this.state = { step: 'complete', user };
        return Buffer.from(`rspauth=${rspauth}`, 'utf8');
      }
      case 'complete':
        throw new SaslFailure('the DIGEST-MD5 exchange is already complete');
      case 'failed':
        throw new SaslFailure('the DIGEST-MD5 exchange has failed');
    }
  }

  private checkResponse(nonce: string, token: Uint8Array): { user: string; rspauth: string } {
    const text = Buffer.from(token).toString('utf8');
    if (text.length > 4096) throw new SaslFailure('digest response too long');
    const fields = parseDirectives(text);
    const one = (name: string): string => {
      const value = fields.get(name);
      if (value === undefined) throw new SaslFailure(`digest response has no ${name}`);
      return value;
    };
    if (fields.get('charset') !== undefined && fields.get('charset')!.toLowerCase() !== 'utf-8')
      throw new SaslFailure('digest response charset must be utf-8');
    const utf8 = fields.get('charset') !== undefined;
    const user = one('username');
    const realm = fields.get('realm') ?? '';
    if (realm !== digestServerName) throw new SaslFailure(`unknown realm ${JSON.stringify(realm)}`);
    if (one('nonce') !== nonce) throw new SaslFailure('digest response nonce does not match the challenge');
    const cnonce = one('cnonce');
    const nc = one('nc');
    if (nc !== '00000001') throw new SaslFailure(`nonce count ${nc}, expected 00000001`);
    const qop = fields.get('qop') ?? 'auth';
    if (qop !== 'auth') throw new SaslFailure(`quality of protection ${qop} is not offered`);
    const digestUri = one('digest-uri');
    if (digestUri !== `${digestProtocol}/${digestServerName}`)
      throw new SaslFailure(
        `digest-uri ${JSON.stringify(digestUri)} is not ${digestProtocol}/${digestServerName}`,
      );
    const response = one('response');
    if (!/^[0-9a-f]{32}$/.test(response)) throw new SaslFailure('digest response is not 32 hex digits');
    const password = this.passwordOf(user);
    if (password === undefined) throw new SaslFailure(`no DIGEST-MD5 user ${JSON.stringify(user)}`);
    const authzid = fields.get('authzid');
    const parts = { user, realm, password, nonce, cnonce, nc, qop, digestUri, authzid, utf8 };
    const expected = digestResponse(parts, 'AUTHENTICATE');
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(response)))
      throw new SaslFailure(`wrong password for DIGEST-MD5 user ${JSON.stringify(user)}`);
    return { user, rspauth: digestResponse(parts, '') };
  }
}
