/**
 * SASL DIGEST-MD5 (RFC 2831) as ZooKeeper's client and server run it (service `zookeeper`,
 * realm and server name `zk-sasl-md5`, quality of protection `auth` only): the response and
 * `rspauth` computations and the directive syntax, shared by zabkit's client (its TCP link
 * logs in with `connectTcp(..., { sasl })`) and zabkit's server.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The realm and server name ZooKeeper uses for DIGEST-MD5. */
export const digestServerName = 'zk-sasl-md5';
/** The SASL protocol (service) name ZooKeeper's client and server use. */
export const digestProtocol = 'zookeeper';

/** Why an exchange failed (a malformed token, a wrong password, a server that proves nothing). */
export class SaslFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslFailure';
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

/** Credentials for SASL DIGEST-MD5, as a JAAS `Client` section names them. */
export interface SaslDigestCredentials {
  readonly mechanism?: 'DIGEST-MD5';
  readonly username: string;
  readonly password: string;
}

/**
 * The client side of one DIGEST-MD5 exchange: `respond` takes the server's challenge and gives
 * the digest response; `verify` checks the server's `rspauth`, which proves the server knows
 * the password too.
 */
export class DigestMd5Client {
  private expectedRspauth: string | undefined;

  constructor(
    private readonly credentials: SaslDigestCredentials,
    private readonly makeCnonce: () => string = () => randomBytes(24).toString('base64'),
  ) {}

  /** @throws {@link SaslFailure} for a challenge this client cannot answer */
  respond(challenge: Uint8Array): Uint8Array {
    const fields = parseDirectives(Buffer.from(challenge).toString('utf8'));
    const nonce = fields.get('nonce');
    if (nonce === undefined) throw new SaslFailure('the challenge has no nonce');
    const qops = (fields.get('qop') ?? 'auth').split(',').map((qop) => qop.trim());
    if (!qops.includes('auth')) throw new SaslFailure(`the server offers no plain authentication (${qops})`);
    const algorithm = fields.get('algorithm');
    if (algorithm !== 'md5-sess')
      throw new SaslFailure(`algorithm ${algorithm ?? '(none)'}, expected md5-sess`);
    const utf8 = fields.get('charset')?.toLowerCase() === 'utf-8';
    const realm = fields.get('realm') ?? digestServerName;
    const parts: DigestParts = {
      user: this.credentials.username,
      realm,
      password: this.credentials.password,
      nonce,
      cnonce: this.makeCnonce(),
      nc: '00000001',
      qop: 'auth',
      digestUri: `${digestProtocol}/${digestServerName}`,
      authzid: this.credentials.username,
      utf8,
    };
    this.expectedRspauth = digestResponse(parts, '');
    const quote = (value: string) => `"${value.replace(/(["\\])/g, '\\$1')}"`;
    const response = [
      ...(utf8 ? ['charset=utf-8'] : []),
      `username=${quote(parts.user)}`,
      `realm=${quote(realm)}`,
      `nonce=${quote(nonce)}`,
      `nc=${parts.nc}`,
      `cnonce=${quote(parts.cnonce)}`,
      `digest-uri=${quote(parts.digestUri)}`,
      'maxbuf=65536',
      `response=${digestResponse(parts, 'AUTHENTICATE')}`,
      'qop=auth',
      `authzid=${quote(parts.user)}`,
    ].join(',');
    return Buffer.from(response, 'utf8');
  }

  /** @throws {@link SaslFailure} when the server's final token does not prove it knows the password */
  verify(token: Uint8Array): void {
    const rspauth = parseDirectives(Buffer.from(token).toString('utf8')).get('rspauth');
    const expected = this.expectedRspauth;
    if (
      expected === undefined ||
      rspauth === undefined ||
      rspauth.length !== expected.length ||
      !timingSafeEqual(Buffer.from(rspauth), Buffer.from(expected))
    )
      throw new SaslFailure('the server did not prove it knows the password (rspauth)');
  }
}
