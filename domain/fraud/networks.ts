// Which network an address belongs to: its autonomous system (AS number) from a table of address
// ranges, read once from the shipped CSV (`first,last,asn,name` per line, ranges in address order,
// IPv4 and IPv6 in their own files), searched by bisection. Pure: loading the files is the caller's
// (platform/networks.ts).
import { prefixOf, type ParsedIp } from './ip.ts';

/** Ranges sorted by their first address. IPv6 ranges are kept to /64 precision (the upper 64 bits). */
export type AsnTable = {
  v4First: Uint32Array;
  v4Last: Uint32Array;
  v4Asn: Uint32Array;
  v6First: BigUint64Array;
  v6Last: BigUint64Array;
  v6Asn: Uint32Array;
};

function lines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return text.endsWith('\n') || text.length === 0 ? n : n + 1;
}

/** `first,last,asn,...` lines of IPv4 ranges as unsigned 32-bit numbers (the `-num` file). */
function parseV4(text: string): Pick<AsnTable, 'v4First' | 'v4Last' | 'v4Asn'> {
  const capacity = lines(text);
  const [first, last, asn] = [new Uint32Array(capacity), new Uint32Array(capacity), new Uint32Array(capacity)];
  let row = 0;
  // A hand-rolled scan: 400,000 lines at start-up, without a string per field.
  for (let i = 0; i < text.length;) {
    const fields = [0, 0, 0];
    for (let f = 0; f < 3; f++) {
      let value = 0;
      let digits = 0;
      for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) {
        value = value * 10 + (c - 48);
        digits++;
      }
      if (digits === 0 || text.charCodeAt(i) !== 44) throw new Error(`ASN table: bad IPv4 line ${row + 1}`);
      fields[f] = value;
      i++;
    }
    const end = text.indexOf('\n', i);
    i = end < 0 ? text.length : end + 1;
    [first[row], last[row], asn[row]] = fields as [number, number, number];
    row++;
  }
  return { v4First: first.subarray(0, row), v4Last: last.subarray(0, row), v4Asn: asn.subarray(0, row) };
}

/** The same for IPv6 ranges written as unsigned 128-bit decimal numbers. */
function parseV6(text: string): Pick<AsnTable, 'v6First' | 'v6Last' | 'v6Asn'> {
  const capacity = lines(text);
  const [first, last, asn] = [new BigUint64Array(capacity), new BigUint64Array(capacity), new Uint32Array(capacity)];
  let row = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const [a, b, n] = line.split(',', 3);
    if (!a || !b || !n || !/^\d+$/.test(a) || !/^\d+$/.test(b) || !/^\d+$/.test(n))
      throw new Error(`ASN table: bad IPv6 line ${row + 1}`);
    first[row] = BigInt(a) >> 64n;
    last[row] = BigInt(b) >> 64n;
    asn[row] = Number(n);
    row++;
  }
  return { v6First: first.subarray(0, row), v6Last: last.subarray(0, row), v6Asn: asn.subarray(0, row) };
}

export function parseAsnTable(v4Csv: string, v6Csv: string): AsnTable {
  return { ...parseV4(v4Csv), ...parseV6(v6Csv) };
}

/** The index of the last range starting at or before `key`, or -1. */
function lastStartingAtOrBefore<T extends number | bigint>(starts: ArrayLike<T>, key: T): number {
  let [lo, hi] = [0, starts.length - 1];
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= key) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The AS number announcing the address, or null when the table has none (private, reserved, unrouted). */
export function asnOf(table: AsnTable, ip: ParsedIp): number | null {
  if (ip.version === 4) {
    const i = lastStartingAtOrBefore(table.v4First, ip.value);
    return i >= 0 && ip.value <= table.v4Last[i]! ? announced(table.v4Asn[i]!) : null;
  }
  const key = ip.value >> 64n;
  const i = lastStartingAtOrBefore(table.v6First, key);
  return i >= 0 && key <= table.v6Last[i]! ? announced(table.v6Asn[i]!) : null;
}

/** AS0 marks space nobody may announce: no network. */
const announced = (asn: number) => (asn === 0 ? null : asn);

/**
 * The network an address is seen from: `AS<number>` when the table knows it, else (or without a
 * table) its /24 or /48 prefix (`p:10.1.2.0/24`), so addresses nobody announces still group by site.
 */
export function networkOf(table: AsnTable | null, ip: ParsedIp): string {
  const asn = table && asnOf(table, ip);
  return asn === null ? `p:${prefixOf(ip)}` : `AS${asn}`;
}
