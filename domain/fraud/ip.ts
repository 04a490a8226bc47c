// Client IP addresses as the fraud signals keep them: one spelling per address (so two sightings of
// the same address compare equal), and the prefix that stands for its network when no autonomous
// system is known for it.

export type ParsedIp = { version: 4; value: number } | { version: 6; value: bigint };

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEXTET = /^[0-9a-f]{1,4}$/;

function parseV4(text: string): number | null {
  const m = V4.exec(text);
  if (!m) return null;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    if (part.length > 1 && part.startsWith('0')) return null; // octal-looking: not a canonical address
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

function parseV6(text: string): bigint | null {
  let body = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) stands for the last two hextets.
  let tail: number | null = null;
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    tail = parseV4(body.slice(lastColon + 1));
    if (tail === null) return null;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const split = (s: string) => (s === '' ? [] : s.split(':'));
  const head = split(halves[0]!);
  const rest = halves.length === 2 ? split(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let value = 0n;
  for (const g of groups) {
    if (!HEXTET.test(g)) return null;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail !== null) value = (value & ~0xffffffffn) | BigInt(tail);
  return value;
}

const MAPPED_V4 = 0xffffn << 32n;

/**
 * The address, or null when `text` is not one. An IPv4 address mapped into IPv6 (`::ffff:1.2.3.4`,
 * how a dual-stack socket reports an IPv4 client) is the IPv4 address; a zone (`%eth0`) is dropped.
 */
export function parseIp(raw: string): ParsedIp | null {
  const text = raw.trim().toLowerCase().replace(/%.*$/, '');
  if (text.length === 0 || text.length > 45) return null;
  const v4 = parseV4(text);
  if (v4 !== null) return { version: 4, value: v4 };
  if (!text.includes(':')) return null;
  const v6 = parseV6(text);
  if (v6 === null) return null;
  if (v6 >> 32n === MAPPED_V4 >> 32n) return { version: 4, value: Number(v6 & 0xffffffffn) };
  return { version: 6, value: v6 };
}

function formatV4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** RFC 5952: lower case, no leading zeros, the longest run (of two or more) of zero groups as `::`. */
function formatV6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(16 * (7 - i))) & 0xffffn));
  let [bestStart, bestLength] = [-1, 1];
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function formatIp(ip: ParsedIp): string {
  return ip.version === 4 ? formatV4(ip.value) : formatV6(ip.value);
}

/** One spelling per address, or null when `raw` is not an address. */
export function canonicalIp(raw: string): string | null {
  const ip = parseIp(raw);
  return ip && formatIp(ip);
}

/**
 * The block an address sits in when no autonomous system is known for it: the /24 of an IPv4
 * address, the /48 of an IPv6 one (what one site is usually given).
 */
export function prefixOf(ip: ParsedIp): string {
  if (ip.version === 4) return `${formatV4(ip.value - (ip.value % 256))}/24`;
  return `${formatV6((ip.value >> 80n) << 80n)}/48`;
}
