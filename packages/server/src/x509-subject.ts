/**
 * A certificate's subject as ZooKeeper's X509 provider names a client: Java's
 * `X500Principal.getName()`, the RFC 2253 form. The name is read from the certificate's DER
 * (not from a printer's text, which loses the order and the string types): RDNs from the
 * last to the first, joined by `,`; the attribute-value pairs of one RDN in their encoded
 * order, joined by `+`; CN, C, L, ST, O, OU, STREET, DC and UID by keyword, any other type as
 * its dotted OID; a value of a string type as text with `,=+<>#;"\` escaped by `\` (and a
 * space that begins or ends it), any other value, or one of a type without a keyword, as `#`
 * and the hex of its DER encoding.
 *
 * @module
 */

/** The keywords Java's RFC 2253 output uses, by OID. */
const keywords: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.9', 'STREET'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
]);

const tag = { sequence: 0x30, set: 0x31, oid: 0x06, contextVersion: 0xa0 } as const;

/** String types Java prints as text (DerValue.isDerString, not canonical). */
const stringTags: ReadonlyMap<number, (content: Buffer) => string> = new Map([
  [0x0c, (content: Buffer) => content.toString('utf8')], // UTF8String
  [0x13, (content: Buffer) => content.toString('latin1')], // PrintableString
  [0x14, (content: Buffer) => content.toString('latin1')], // T61String, as Java reads it
  [0x16, (content: Buffer) => content.toString('latin1')], // IA5String
  [0x1b, (content: Buffer) => content.toString('latin1')], // GeneralString
  [0x1e, (content: Buffer) => utf16be(content)], // BMPString
]);

interface Der {
  readonly tag: number;
  /** The whole element: tag, length and content. */
  readonly whole: Buffer;
  readonly content: Buffer;
}

/** The DER element at `offset` of `bytes`. @throws Error when it runs past the end */
function readDer(bytes: Buffer, offset: number): Der {
  if (offset + 2 > bytes.length) throw new Error('truncated DER');
  const elementTag = bytes[offset]!;
  let length = bytes[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || offset + 2 + count > bytes.length) throw new Error('bad DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i]!;
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new Error('truncated DER');
  return {
    tag: elementTag,
    whole: bytes.subarray(offset, end),
    content: bytes.subarray(offset + header, end),
  };
}

function children(element: Der): Der[] {
  const out: Der[] = [];
  for (let offset = 0; offset < element.content.length; ) {
    const child = readDer(element.content, offset);
    out.push(child);
    offset += child.whole.length;
  }
  return out;
}

function oidText(content: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

function utf16be(content: Buffer): string {
  let text = '';
  for (let i = 0; i + 1 < content.length; i += 2) text += String.fromCharCode(content.readUInt16BE(i));
  return text;
}

/** Java's escaping for an RFC 2253 attribute value. */
function escapeValue(value: string): string {
  let out = '';
  for (const char of value) {
    if (',=+<>#;"\\'.includes(char)) out += `\\${char}`;
    else if (char === '\u0000') out += '\\00';
    else out += char;
  }
  if (out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function pairText(pair: Der): string {
  const [type, value] = children(pair);
  if (type === undefined || value === undefined || type.tag !== tag.oid) throw new Error('bad attribute');
  const oid = oidText(type.content);
  const keyword = keywords.get(oid);
  const decode = stringTags.get(value.tag);
  if (keyword === undefined || decode === undefined)
    return `${keyword ?? oid}=#${value.whole.toString('hex')}`;
  return `${keyword}=${escapeValue(decode(value.content))}`;
}

/**
 * The subject of a DER-encoded X.509 certificate, as Java's `getSubjectX500Principal().getName()`.
 *
 * @throws Error when the certificate is not DER it can walk
 */
export function certificateSubject(der: Uint8Array): string {
  const certificate = readDer(Buffer.from(der.buffer, der.byteOffset, der.byteLength), 0);
  const tbs = children(certificate)[0];
  if (certificate.tag !== tag.sequence || tbs?.tag !== tag.sequence) throw new Error('not a certificate');
  const fields = children(tbs);
  // version [0] (optional), serialNumber, signature, issuer, validity, subject
  const subject = fields[fields[0]?.tag === tag.contextVersion ? 5 : 4];
  if (subject?.tag !== tag.sequence) throw new Error('no subject');
  const rdns = children(subject).map((rdn) => {
    if (rdn.tag !== tag.set) throw new Error('bad RDN');
    return children(rdn).map(pairText).join('+');
  });
  return rdns.reverse().join(',');
}
