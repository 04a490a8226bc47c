// The IP-to-network table the API tags client addresses with: the shipped `@ip-location-db/asn`
// package (RouteViews, the five RIRs and DB-IP's IP-to-ASN Lite, CC BY 4.0; updated by bumping the
// pinned version), read from disk once per process and never fetched at run time.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseAsnTable, type AsnTable } from '../domain/fraud/networks.ts';

let loading: Promise<AsnTable> | null = null;

/** The table, loaded on first use (about 0.2 s and 10 MB) and shared by every later caller in the process. */
export function asnTable(): Promise<AsnTable> {
  loading ??= (async () => {
    const dir = dirname(createRequire(import.meta.url).resolve('@ip-location-db/asn/package.json'));
    const [v4, v6] = await Promise.all([
      readFile(join(dir, 'asn-ipv4-num.csv'), 'latin1'),
      readFile(join(dir, 'asn-ipv6-num.csv'), 'latin1'),
    ]);
    return parseAsnTable(v4, v6);
  })();
  // A failed load is not cached: the next caller tries again.
  loading.catch(() => (loading = null));
  return loading;
}
