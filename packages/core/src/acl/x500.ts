/**
 * Whether an `x509:` ACL id is a distinguished name, as ZooKeeper's X509 provider decides it
 * (it parses the id with Java's X500Principal, which takes RFC 2253 and RFC 1779 forms): RDNs
 * separated by `,` or `;`, attribute-value pairs within one joined by `+`, each a keyword Java
 * knows or an OID, `=`, and a value that is quoted, `#hex`, or text with `\` escapes. The
 * empty name is valid, as in Java.
 */

/** The keywords X500Principal's parser knows (AVAKeyword's table), upper-cased. */
const keywords: ReadonlySet<string> = new Set([
  'CN',
  'C',
  'L',
  'S',
  'ST',
  'O',
  'OU',
  'T',
  'IP',
  'STREET',
  'DC',
  'DNQUALIFIER',
  'DNQ',
  'SURNAME',
  'GIVENNAME',
  'INITIALS',
  'GENERATION',
  'EMAIL',
  'EMAILADDRESS',
  'UID',
  'SERIALNUMBER',
]);

const oid = /^(OID\.)?[0-9]+(\.[0-9]+)+$/i;
const hexValue = /^#([0-9a-fA-F]{2})+$/;

/** True when `name` parses as a distinguished name. */
export function isValidDistinguishedName(name: string): boolean {
  if (name.trim() === '') return true;
  const pairs = splitUnescaped(name, new Set([',', ';', '+']));
  if (pairs === undefined) return false;
  return pairs.every(isValidPair);
}

function isValidPair(pair: string): boolean {
  const equals = pair.indexOf('=');
  if (equals <= 0) return false;
  const type = pair.slice(0, equals).trim();
  if (!keywords.has(type.toUpperCase()) && !oid.test(type)) return false;
  const value = pair.slice(equals + 1).trim();
  if (value.startsWith('#')) return hexValue.test(value);
  if (value.startsWith('"')) return value.length >= 2 && value.endsWith('"');
  return validEscapes(value);
}

/** Every `\` escapes a special character, a space or `#`, or two hex digits. */
function validEscapes(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== '\\') continue;
    const next = value[i + 1];
    if (next === undefined) return false;
    if (',=+<>#;"\\ '.includes(next)) {
      i++;
    } else if (/^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

/**
 * Splits at separators outside quotes and not escaped; undefined for an unterminated quote
 * or an empty part.
 */
function splitUnescaped(text: string, separators: ReadonlySet<string>): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && separators.has(c)) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) return undefined;
  parts.push(text.slice(start));
  return parts.some((part) => part.trim() === '') ? undefined : parts;
}
