// A user's personal referral code: short, unambiguous when read aloud, hard to guess.

const ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz'; // no 0/o, 1/l/i

export function referralCodeFrom(randomBytes: Uint8Array): string {
  let code = '';
  for (const byte of randomBytes) code += ALPHABET[byte % ALPHABET.length];
  return code;
}

export const REFERRAL_CODE_LENGTH = 10;
export const REFERRAL_CODE = /^[2-9a-hjkmnp-z]{10}$/;
