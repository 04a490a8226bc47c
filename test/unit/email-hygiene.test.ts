// Addresses we mail hold no hidden or control characters; addresses shown to someone who may not see
// them whole are masked.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isEmail, maskEmail } from '../../domain/email.ts';

describe('isEmail', () => {
  it.each([
    ['a NUL', 'a\u0000b@example.com'],
    ['a control character', 'a\u0007b@example.com'],
    ['DEL', 'ab\u007f@example.com'],
    ['a C1 control', 'ab\u0085@example.com'],
    ['a zero-width space', 'a\u200bb@example.com'],
    ['a zero-width joiner', 'ab@exa\u200dmple.com'],
    ['a zero-width non-joiner', 'ab@exa\u200cmple.com'],
    ['a word joiner', 'ab@example.c\u2060om'],
    ['a byte-order mark', '\ufeffab@example.com'],
    ['a soft hyphen', 'ab@exam\u00adple.com'],
    ['a right-to-left override', 'ab\u202e@example.com'],
    ['a left-to-right embedding', 'ab\u202a@example.com'],
    ['a right-to-left isolate', 'ab@\u2067example.com'],
    ['a right-to-left mark', 'ab\u200f@example.com'],
    ['a line separator', 'ab\u2028@example.com'],
    ['a private-use character', 'ab\ue000@example.com'],
    ['a lone surrogate', 'ab\ud800@example.com'],
  ])('refuses an address with %s', (_name, address) => {
    expect(isEmail(address)).toBe(false);
  });

  it('still accepts ordinary and international addresses', () => {
    for (const address of ['a@b.co', 'jane.doe+tag@gmail.com', 'josé@exämple.de', '用户@例子.中国', "o'brien@x.ie"])
      expect(isEmail(address)).toBe(true);
  });

  it('refuses any address holding a character of the hidden or control categories', () => {
    const hidden = fc.constantFrom(
      ...[0, 0x1f, 0x7f, 0x9f, 0xad, 0x200b, 0x200e, 0x202e, 0x2066, 0x2069, 0xfeff, 0xe000].map((c) =>
        String.fromCharCode(c),
      ),
    );
    fc.assert(
      fc.property(fc.emailAddress(), hidden, fc.nat(), (address, char, at) => {
        const i = at % (address.length + 1);
        return !isEmail(address.slice(0, i) + char + address.slice(i));
      }),
    );
  });
});

describe('maskEmail', () => {
  it.each([
    ['jane@gmail.com', 'j***@g***.com'],
    ['j@x.io', 'j***@x***.io'],
    ['someone@mail.example.co.uk', 's***@m***.uk'],
    ['用户@例子.中国', '用***@例***.中国'],
    ['no-at-sign', '***'],
  ])('%s -> %s', (email, masked) => {
    expect(maskEmail(email)).toBe(masked);
  });

  it('never shows more than the first character of the local part and of the domain', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const masked = maskEmail(email);
        const [local = '', domain = ''] = email.split('@');
        return (
          masked.startsWith(`${[...local][0]}***@`) &&
          (local.length <= 1 || !masked.includes(local)) &&
          masked.endsWith(domain.slice(domain.lastIndexOf('.')))
        );
      }),
    );
  });
});
