/**
 * Checksums and structural rules that turn "looks like a number" into "is very probably a card /
 * IBAN / routing number / SSN". Pure functions over digit strings; the detectors only call them on
 * candidates that already have the right shape, so clarity beats micro-optimisation here.
 */
import { createHash } from "node:crypto";

/** Luhn (mod 10) check used by payment cards. `digits` must contain only 0-9. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

export type CardBrand = "visa" | "mastercard" | "amex" | "discover" | "jcb" | "diners" | "unionpay" | "maestro";

/** Issuer by IIN prefix and length; undefined when no known scheme issues such a number. */
export function cardBrand(digits: string): CardBrand | undefined {
  const len = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  if (digits[0] === "4" && (len === 13 || len === 16 || len === 19)) return "visa";
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && len === 16) return "mastercard";
  if ((p2 === 34 || p2 === 37) && len === 15) return "amex";
  if ((p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) && len >= 16 && len <= 19)
    return "discover";
  if (p4 >= 3528 && p4 <= 3589 && len >= 16 && len <= 19) return "jcb";
  if (((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39 || p4 === 3095) && len >= 14 && len <= 19)
    return "diners";
  if (p2 === 62 && len >= 16 && len <= 19) return "unionpay";
  if ((p2 === 50 || (p2 >= 56 && p2 <= 69)) && len >= 12 && len <= 19) return "maestro";
  return undefined;
}

/** Numbers published by card networks and payment providers for testing: never a real person's card. */
export const TEST_CARD_NUMBERS: ReadonlySet<string> = new Set([
  "4242424242424242", "4000056655665556", "4111111111111111", "4012888888881881", "4222222222222",
  "5555555555554444", "5200828282828210", "5105105105105100", "2223003122003222", "378282246310005",
  "371449635398431", "378734493671000", "6011111111111117", "6011000990139424", "3056930009020004",
  "36227206271667", "3566002020360505", "6200000000000005", "4000000000000002", "4000000000009995",
]);

/** Expected IBAN length per country (ISO 13616 registry). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22,
  IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

/** IBAN check: known country, its length, and ISO 7064 mod-97 = 1. `iban` without spaces. */
export function ibanValid(iban: string): boolean {
  const s = iban.toUpperCase();
  const expected = IBAN_LENGTHS[s.slice(0, 2)];
  if (expected === undefined || s.length !== expected) return false;
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  return mod97(s.slice(4) + s.slice(0, 4)) === 1;
}

/** ISO 7064 mod 97-10 over an alphanumeric string (letters count as 10..35), computed piecewise. */
export function mod97(s: string): number {
  let rem = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return -1;
  }
  return rem;
}

/** ABA routing transit number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). */
export function abaValid(digits: string): boolean {
  if (!/^\d{9}$/.test(digits)) return false;
  const d = (i: number) => digits.charCodeAt(i) - 48;
  const sum = 3 * (d(0) + d(3) + d(6)) + 7 * (d(1) + d(4) + d(7)) + (d(2) + d(5) + d(8));
  if (sum % 10 !== 0) return false;
  // First two digits: Federal Reserve district ranges 00-12, 21-32, 61-72, 80 (traveller's cheques).
  const p = d(0) * 10 + d(1);
  return p <= 12 || (p >= 21 && p <= 32) || (p >= 61 && p <= 72) || p === 80;
}

/**
 * US Social Security Number rules (SSA, since 2011 randomisation): area 001-899 except 666, group
 * 01-99, serial 0001-9999. Area 9xx belongs to ITINs.
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  if (area.length !== 3 || group.length !== 2 || serial.length !== 4) return false;
  const a = Number(area);
  const g = Number(group);
  const s = Number(serial);
  return a > 0 && a !== 666 && a < 900 && g > 0 && s > 0;
}

/** SSNs that appear in advertising and documentation rather than belonging to anyone. */
export const PLACEHOLDER_SSNS: ReadonlySet<string> = new Set(["078051120", "219099999", "123456789", "457555462"]);

/** IRS Individual Taxpayer Identification Number: 9XX-[50-65|70-88|90-92|94-99]-XXXX. */
export function itinValid(area: string, group: string, serial: string): boolean {
  if (area.length !== 3 || group.length !== 2 || serial.length !== 4 || area[0] !== "9") return false;
  const g = Number(group);
  return ((g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) || (g >= 94 && g <= 99)) && serial !== "0000";
}

/** North American Numbering Plan: NXX-NXX-XXXX where N is 2-9, and the area code is not N11. */
export function nanpValid(digits10: string): boolean {
  if (!/^[2-9]\d{2}[2-9]\d{6}$/.test(digits10)) return false;
  return !(digits10[1] === "1" && digits10[2] === "1");
}

/** ITU-T E.164 country calling codes (1-3 digits). Used to accept "+CC …" numbers. */
const COUNTRY_CODES = new Set(
  (
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 " +
    "81 82 84 86 90 91 92 93 94 95 98 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 " +
    "233 234 235 236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251 252 253 254 255 256 257 258 " +
    "260 261 262 263 264 265 266 267 268 269 290 291 297 298 299 350 351 352 353 354 355 356 357 358 359 370 " +
    "371 372 373 374 375 376 377 378 380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 " +
    "507 508 509 590 591 592 593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680 681 682 683 " +
    "685 686 687 688 689 690 691 692 850 852 853 855 856 880 886 960 961 962 963 964 965 966 967 968 970 971 " +
    "972 973 974 975 976 977 992 993 994 995 996 998"
  ).split(" "),
);

/** Length of the country calling code at the start of `digits`, or 0 if none is valid. */
export function countryCodeLength(digits: string): number {
  for (let n = 1; n <= 3; n++) if (COUNTRY_CODES.has(digits.slice(0, n))) return n;
  return 0;
}

/** Dotted-quad IPv4 without leading zeros. */
export function ipv4Valid(parts: readonly string[]): boolean {
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p[0] === "0")) return false;
    if (Number(p) > 255) return false;
  }
  return true;
}

/**
 * "documentation": RFC 5737 example ranges (like example.com, they identify nobody);
 * "internal": loopback, private, link-local, unspecified, multicast (identify a machine on some private
 * network); "public": everything else.
 */
export function ipv4Kind(parts: readonly string[]): "documentation" | "internal" | "public" {
  const [a, b, c] = parts.map(Number);
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) {
    return "documentation";
  }
  if (a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || a >= 224) {
    return "internal";
  }
  return "public";
}

/**
 * IPv6 in text form (RFC 4291 §2.2, including "::" compression and a trailing dotted IPv4).
 * Returns the number of explicit 16-bit groups, or -1 when invalid.
 */
export function ipv6Groups(s: string): number {
  if (s.length < 2 || s.length > 45) return -1;
  const dbl = s.indexOf("::");
  if (dbl !== s.lastIndexOf("::")) return -1;
  const body = s.split("::");
  let groups = 0;
  for (let bi = 0; bi < body.length; bi++) {
    const part = body[bi];
    if (part === "") continue;
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      const last = bi === body.length - 1 && i === pieces.length - 1;
      if (last && p.includes(".")) {
        if (!ipv4Valid(p.split("."))) return -1;
        groups += 2;
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return -1;
      groups++;
    }
  }
  if (dbl >= 0) return groups <= 7 ? groups : -1;
  return groups === 8 ? groups : -1;
}

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Bitcoin legacy (P2PKH "1…", P2SH "3…") address: base58 with a double-SHA-256 checksum. */
export function base58CheckValid(s: string): boolean {
  if (s.length < 26 || s.length > 35) return false;
  let bytes: number[] = [0];
  for (const ch of s) {
    const v = BASE58.indexOf(ch);
    if (v < 0) return false;
    let carry = v;
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i] * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  for (const ch of s) {
    if (ch !== "1") break;
    bytes.push(0);
  }
  bytes = bytes.reverse();
  if (bytes.length !== 25) return false;
  const payload = Buffer.from(bytes.slice(0, 21));
  const check = createHash("sha256").update(createHash("sha256").update(payload).digest()).digest();
  return check[0] === bytes[21] && check[1] === bytes[22] && check[2] === bytes[23] && check[3] === bytes[24];
}

const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/** Bitcoin segwit address (BIP 173 bech32 / BIP 350 bech32m) with the "bc" prefix. */
export function bech32Valid(s: string): boolean {
  const lower = s.toLowerCase();
  if (lower !== s && s.toUpperCase() !== s) return false;
  const sep = lower.lastIndexOf("1");
  if (sep < 1 || lower.length - sep < 7 || lower.length > 90) return false;
  const hrp = lower.slice(0, sep);
  if (hrp !== "bc") return false;
  const data: number[] = [];
  for (const ch of lower.slice(sep + 1)) {
    const v = BECH32.indexOf(ch);
    if (v < 0) return false;
    data.push(v);
  }
  const values = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31), ...data];
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk === 1 || chk === 0x2bc830a3; // bech32 or bech32m
}

/** Calendar check for a day/month/year triple (year ≥ 1000). */
export function dateValid(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1 || year < 1000 || year > 2999) return false;
  const dim = [31, (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return day <= dim[month - 1];
}
