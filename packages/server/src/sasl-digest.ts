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
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The realm and server name ZooKeeper's server uses for DIGEST-MD5. */
export const digestServerName = 'zk-sasl-md5';
/** The SASL protocol (service) name ZooKeeper's client and server use. */
export const digestProtocol = 'zookeeper';

/** Why an exchange failed: said in the log, never to the client (it gets AuthFailed). */
export class SaslFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslFailure';
  }
}

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

/** What a digest response is computed from (RFC 2831, 2.1.2.1). */
export interface DigestParts {
  readonly user: string;
  readonly realm: string;
  readonly password: string;
  readonly nonce: string;
  readonly cnonce: string;
  readonly nc: string;
  readonly qop: string;
  readonly digestUri: string;
  readonly authzid: string | undefined;
  /** Whether charset=utf-8 was agreed: names and password then go as RFC 2831 says. */
  readonly utf8: boolean;
}

/**
 * `response` (method `AUTHENTICATE`) or `rspauth` (method empty): HEX(KD(HEX(H(A1)),
 * nonce:nc:cnonce:qop:HEX(H(A2)))) with A1 for md5-sess.
 */
export function digestResponse(parts: DigestParts, method: string): string {
  const md5 = (data: Buffer) => createHash('md5').update(data).digest();
  const hex = (data: Buffer) => md5(data).toString('hex');
  const text = (value: string) => encodeForDigest(value, parts.utf8);
  const secret = md5(Buffer.concat([text(parts.user), c, text(parts.realm), c, text(parts.password)]));
  const a1Parts = [secret, c, Buffer.from(parts.nonce, 'utf8'), c, Buffer.from(parts.cnonce, 'utf8')];
  if (parts.authzid !== undefined) a1Parts.push(c, Buffer.from(parts.authzid, 'utf8'));
  const a1 = Buffer.concat(a1Parts);
  const a2 = Buffer.from(`${method}:${parts.digestUri}`, 'utf8');
  const kd = `${hex(a1)}:${parts.nonce}:${parts.nc}:${parts.cnonce}:${parts.qop}:${hex(a2)}`;
  return hex(Buffer.from(kd, 'utf8'));
}

const c = Buffer.from(':');

/**
 * RFC 2831: with charset=utf-8, a string whose characters all fit ISO 8859-1 is hashed in
 * ISO 8859-1, any other in UTF-8; without it, in ISO 8859-1.
 */
function encodeForDigest(value: string, utf8: boolean): Buffer {
  const latin1 = [...value].every((char) => char.codePointAt(0)! <= 0xff);
  return utf8 && !latin1 ? Buffer.from(value, 'utf8') : Buffer.from(value, 'latin1');
}

/**
 * Parses `name=value,name="quoted, \"value\""` directives. A name given twice fails, as RFC
 * 2831 says for the directives that matter here.
 */
export function parseDirectives(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
  };
  skipSpace();
  while (i < text.length) {
    const equals = text.indexOf('=', i);
    if (equals < 0) throw new SaslFailure('malformed digest directive');
    const name = text.slice(i, equals).trim().toLowerCase();
    if (!/^[a-z0-9-]+$/.test(name)) throw new SaslFailure('malformed digest directive name');
    i = equals + 1;
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new SaslFailure('unterminated quoted digest value');
        const char = text[i++]!;
        if (char === '"') break;
        if (char === '\\' && i < text.length) value += text[i++]!;
        else value += char;
      }
    } else {
      const end = text.indexOf(',', i);
      value = text.slice(i, end < 0 ? text.length : end).trim();
      i = end < 0 ? text.length : end;
    }
    if (fields.has(name)) throw new SaslFailure(`digest directive ${name} given twice`);
    fields.set(name, value);
    skipSpace();
  }
  return fields;
}
