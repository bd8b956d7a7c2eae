/**
 * IP addresses and CIDR ranges for ZooKeeper's `ip` ACL scheme: `10.0.0.0/8`, `127.0.0.1`,
 * `::1`, `fe80::/10`. Addresses parse to byte arrays (4 for IPv4, 16 for IPv6); a range
 * matches when the first `bits` bits agree.
 */

/** Parses dotted-quad IPv4 into 4 bytes, or `undefined`. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

/** Parses IPv6 (with `::` compression and an optional trailing IPv4) into 16 bytes, or `undefined`. */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
      groups.push(Number.parseInt(piece, 16));
    }
    return groups;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** Parses either family; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes IPv4. */
export function parseIp(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return v4;
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

interface IpRange {
  readonly address: Uint8Array;
  readonly bits: number;
}

function parseRange(expression: string): IpRange | undefined {
  const slash = expression.indexOf('/');
  const addressText = slash < 0 ? expression : expression.slice(0, slash);
  const address =
    slash < 0 || !addressText.includes(':')
      ? (parseIpv4(addressText) ?? parseIpv6(addressText))
      : parseIpv6(addressText);
  if (address === undefined) return undefined;
  const maxBits = address.length * 8;
  if (slash < 0) return { address, bits: maxBits };
  const bitsText = expression.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > maxBits) return undefined;
  return { address, bits };
}

export function isValidIpAclExpression(expression: string): boolean {
  return parseRange(expression) !== undefined;
}

/** True when `clientAddress` lies in the range `aclExpression` names. */
export function ipMatches(clientAddress: string, aclExpression: string): boolean {
  const range = parseRange(aclExpression);
  const client = parseIp(clientAddress);
  if (range === undefined || client === undefined || client.length !== range.address.length) return false;
  for (let bit = 0; bit < range.bits; bit++) {
    const mask = 0x80 >> (bit % 8);
    const byte = bit >> 3;
    if ((client[byte]! & mask) !== (range.address[byte]! & mask)) return false;
  }
  return true;
}
