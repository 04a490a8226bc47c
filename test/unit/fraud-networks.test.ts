// Client addresses as signals: one spelling per address, the /24 or /48 prefix, and the network
// (autonomous system) from the shipped table, found by bisection.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { canonicalIp, formatIp, parseIp, prefixOf } from '../../domain/fraud/ip.ts';
import { asnOf, networkOf, parseAsnTable } from '../../domain/fraud/networks.ts';
import { asnTable } from '../../platform/networks.ts';

describe('IP addresses', () => {
  it('spell each address one way', () => {
    expect(canonicalIp('203.0.113.7')).toBe('203.0.113.7');
    expect(canonicalIp('::ffff:203.0.113.7')).toBe('203.0.113.7'); // a dual-stack socket's IPv4 client
    expect(canonicalIp('::FFFF:cb00:7107')).toBe('203.0.113.7');
    expect(canonicalIp('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIp('::1')).toBe('::1');
    expect(canonicalIp('::')).toBe('::');
  });

  it('refuse what is not an address', () => {
    for (const bad of [
      '',
      'localhost',
      '1.2.3',
      '1.2.3.256',
      '01.2.3.4',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      'gggg::1',
      ':::',
    ])
      expect(canonicalIp(bad)).toBeNull();
  });

  it('read back what they write', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => expect(canonicalIp(ip)).toBe(ip)),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const once = canonicalIp(ip);
        expect(once).not.toBeNull();
        expect(canonicalIp(once!)).toBe(once);
      }),
      { numRuns: 200 },
    );
  });

  it('name the /24 or /48 a site sits in', () => {
    expect(prefixOf(parseIp('10.1.2.3')!)).toBe('10.1.2.0/24');
    expect(prefixOf(parseIp('2001:db8:abcd:12:34::1')!)).toBe('2001:db8:abcd::/48');
    expect(formatIp(parseIp('0.0.0.0')!)).toBe('0.0.0.0');
  });
});

describe('the network table', () => {
  // 1.0.0.0-1.0.0.255 AS13335, 1.0.4.0-1.0.7.255 AS38803, 10.0.0.0/8 AS0 (nobody's); 2001:db8::/32 AS64500.
  const table = parseAsnTable(
    '16777216,16777471,13335,"Cloudflare, Inc."\n16778240,16779263,38803,Gtelecom\n167772160,184549375,0,reserved\n',
    `${BigInt('0x20010db8') << 96n},${(BigInt('0x20010db9') << 96n) - 1n},64500,Example\n`,
  );

  it('finds the range an address falls in, and nothing in the gaps', () => {
    const asn = (ip: string) => asnOf(table, parseIp(ip)!);
    expect(asn('1.0.0.0')).toBe(13335);
    expect(asn('1.0.0.255')).toBe(13335);
    expect(asn('1.0.1.0')).toBeNull();
    expect(asn('1.0.5.9')).toBe(38803);
    expect(asn('0.255.255.255')).toBeNull();
    expect(asn('10.1.2.3')).toBeNull(); // AS0: nobody announces it
    expect(asn('2001:db8:ffff::1')).toBe(64500);
    expect(asn('2001:db9::1')).toBeNull();
  });

  it('names a network by its AS, else by its prefix', () => {
    expect(networkOf(table, parseIp('1.0.0.7')!)).toBe('AS13335');
    expect(networkOf(table, parseIp('10.1.2.3')!)).toBe('p:10.1.2.0/24');
    expect(networkOf(null, parseIp('1.0.0.7')!)).toBe('p:1.0.0.0/24');
  });

  it('refuses a malformed file', () => {
    expect(() => parseAsnTable('1,2\n', '')).toThrow(/bad IPv4 line 1/);
    expect(() => parseAsnTable('', 'x,y,z\n')).toThrow(/bad IPv6 line 1/);
  });

  it('ships with the app, covering the big networks of both families', async () => {
    const shipped = await asnTable();
    expect(shipped.v4First.length).toBeGreaterThan(100_000);
    expect(shipped.v6First.length).toBeGreaterThan(10_000);
    expect(networkOf(shipped, parseIp('1.1.1.1')!)).toBe('AS13335');
    expect(networkOf(shipped, parseIp('8.8.8.8')!)).toBe('AS15169');
    expect(networkOf(shipped, parseIp('2001:4860:4860::8888')!)).toBe('AS15169');
    expect(networkOf(shipped, parseIp('192.168.1.20')!)).toBe('p:192.168.1.0/24');
    expect(await asnTable()).toBe(shipped); // loaded once per process
  });
});
