/**
 * Deterministic generators of PII values for the corpus: valid ones (they pass the same checksums a
 * real value would) and near-misses (right shape, wrong checksum or impossible field). Values are
 * synthetic; any match with a real person's data is coincidence.
 */
import { createHash } from "node:crypto";
import { luhnValid, mod97 } from "../../../src/reflex/pii/validators.js";
import { seededRandom } from "../../../src/seeded-random.js";

export type Rng = () => number;

/** Seeded, so every generated corpus sample is the same on every run. */
export const rng: (seed: number) => Rng = seededRandom;

export const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
export const digits = (r: Rng, n: number): string => Array.from({ length: n }, () => String(int(r, 0, 9))).join("");

export function luhnComplete(partial: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(partial + d)) return partial + d;
  throw new Error("unreachable");
}

export function luhnBreak(valid: string): string {
  const last = Number(valid[valid.length - 1]);
  return valid.slice(0, -1) + String((last + 1 + Math.floor(last / 5)) % 10);
}

const CARD_PREFIXES: Array<[string, number]> = [
  ["4", 16], ["4", 16], ["51", 16], ["53", 16], ["55", 16], ["2221", 16], ["2720", 16], ["34", 15], ["37", 15],
  ["6011", 16], ["65", 16], ["3530", 16], ["36", 14],
];

export function card(r: Rng): string {
  const [p, len] = pick(r, CARD_PREFIXES);
  return luhnComplete(p + digits(r, len - p.length - 1));
}

export function groupCard(num: string, sep: string): string {
  if (num.length === 15) return `${num.slice(0, 4)}${sep}${num.slice(4, 10)}${sep}${num.slice(10)}`;
  if (num.length === 14) return `${num.slice(0, 4)}${sep}${num.slice(4, 10)}${sep}${num.slice(10)}`;
  return num.match(/.{1,4}/g)!.join(sep);
}

export function ssn(r: Rng): string {
  let area: number;
  do area = int(r, 1, 899);
  while (area === 666);
  return `${String(area).padStart(3, "0")}-${String(int(r, 1, 99)).padStart(2, "0")}-${String(int(r, 1, 9999)).padStart(4, "0")}`;
}

export function invalidSsn(r: Rng): string {
  const kind = int(r, 0, 3);
  if (kind === 0) return `000-${digits(r, 2).replace(/^00$/, "12")}-${digits(r, 4)}`;
  if (kind === 1) return `666-${String(int(r, 10, 99))}-${String(int(r, 1000, 9999))}`;
  if (kind === 2) return `${int(r, 100, 899)}-00-${String(int(r, 1000, 9999))}`;
  return `${int(r, 100, 899)}-${String(int(r, 10, 99))}-0000`;
}

export function itin(r: Rng): string {
  const group = pick(r, [int(r, 50, 65), int(r, 70, 88), int(r, 90, 92), int(r, 94, 99)]);
  return `9${digits(r, 2)}-${group}-${String(int(r, 1, 9999)).padStart(4, "0")}`;
}

const IBAN_FORMATS: Array<[string, number, "n" | "a"]> = [
  ["DE", 22, "n"], ["GB", 22, "a"], ["FR", 27, "n"], ["ES", 24, "n"], ["NL", 18, "a"], ["IT", 27, "a"],
  ["CH", 21, "n"], ["BE", 16, "n"], ["AT", 20, "n"], ["PL", 28, "n"], ["IE", 22, "a"], ["SE", 24, "n"],
];

export function iban(r: Rng): string {
  const [cc, len, kind] = pick(r, IBAN_FORMATS);
  let bban: string;
  if (kind === "a") {
    const bank = Array.from({ length: 4 }, () => String.fromCharCode(int(r, 65, 90))).join("");
    bban = bank + digits(r, len - 8);
  } else bban = digits(r, len - 4);
  const check = 98 - mod97(bban + cc + "00");
  return cc + String(check).padStart(2, "0") + bban;
}

export function printIban(compact: string): string {
  return compact.match(/.{1,4}/g)!.join(" ");
}

export function aba(r: Rng): string {
  for (;;) {
    const d = pick(r, ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "21", "22", "26", "31", "32", "61", "67"]) + digits(r, 6);
    const w = [3, 7, 1, 3, 7, 1, 3, 7];
    const sum = [...d].reduce((s, c, i) => s + Number(c) * w[i], 0);
    const check = (10 - (sum % 10)) % 10;
    return d + check;
  }
}

export function nanpPhone(r: Rng): [string, string, string] {
  return [String(int(r, 2, 9)) + digits(r, 2), String(int(r, 2, 9)) + digits(r, 2), digits(r, 4)];
}

export function ipv4Public(r: Rng): string {
  for (;;) {
    const a = int(r, 1, 223);
    if ([10, 127, 169, 172, 192, 198, 203, 0].includes(a)) continue;
    return `${a}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
  }
}

export function ipv6(r: Rng): string {
  const g = () => int(r, 0, 0xffff).toString(16);
  const prefix = pick(r, ["2001:4860", "2a03:2880", "2606:4700", "2a00:1450", "2607:f8b0", "2400:cb00"]);
  if (r() < 0.5) return `${prefix}:${g()}:${g()}:${g()}:${g()}:${g()}:${g()}`;
  return `${prefix}:${g()}::${g()}`;
}

export function mac(r: Rng, sep: string): string {
  return Array.from({ length: 6 }, () => int(r, 0, 255).toString(16).padStart(2, "0").toUpperCase()).join(sep);
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function base58(bytes: Buffer): string {
  let n = BigInt("0x" + bytes.toString("hex"));
  let out = "";
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = "1" + out;
  }
  return out;
}

export function bitcoinLegacy(r: Rng, p2sh = false): string {
  const payload = Buffer.from([p2sh ? 5 : 0, ...Array.from({ length: 20 }, () => int(r, 0, 255))]);
  const check = createHash("sha256").update(createHash("sha256").update(payload).digest()).digest().subarray(0, 4);
  return base58(Buffer.concat([payload, check]));
}

const BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
function polymod(values: number[]): number {
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk;
}

export function bitcoinBech32(r: Rng): string {
  const prog = Array.from({ length: 20 }, () => int(r, 0, 255));
  const data = [0];
  let acc = 0;
  let bits = 0;
  for (const b of prog) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      data.push((acc >> bits) & 31);
    }
  }
  if (bits > 0) data.push((acc << (5 - bits)) & 31);
  const hrp = "bc";
  const exp = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
  const mod = polymod([...exp, ...data, 0, 0, 0, 0, 0, 0]) ^ 1;
  const check = Array.from({ length: 6 }, (_, i) => (mod >> (5 * (5 - i))) & 31);
  return hrp + "1" + [...data, ...check].map((v) => BECH[v]).join("");
}

export function hex(r: Rng, n: number): string {
  return Array.from({ length: n }, () => "0123456789abcdef"[int(r, 0, 15)]).join("");
}

export function alnum(r: Rng, n: number, alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"): string {
  return Array.from({ length: n }, () => alphabet[int(r, 0, alphabet.length - 1)]).join("");
}

export function b64url(r: Rng, n: number): string {
  return alnum(r, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

export function jwt(r: Rng): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ sub: digits(r, 8), name: pick(r, ["alice", "bob", "carol"]), iat: 1700000000 + int(r, 0, 9999999) })}.${b64url(r, 43)}`;
}

export const FIRST = ["James", "Maria", "Wei", "Aisha", "Carlos", "Priya", "Olga", "Tom", "Fatima", "Lucas", "Emma", "Kenji", "Sofia", "David", "Amara", "Noah", "Chloe", "Ravi", "Hannah", "Mateo"];
export const LAST = ["Smith", "Garcia", "Chen", "Okafor", "Silva", "Patel", "Ivanova", "Nguyen", "Haddad", "Muller", "Rossi", "Tanaka", "Kowalski", "Brown", "Mensah", "Dubois", "Kim", "Sharma", "Levi", "Costa"];
export const DOMAINS = ["gmail.com", "outlook.com", "yahoo.co.uk", "protonmail.com", "icloud.com", "acme-corp.io", "stanford.edu", "web.de", "orange.fr", "company.co", "fastmail.fm", "hey.com", "mail.ru", "uni-heidelberg.de"];

export function email(r: Rng): string {
  const f = pick(r, FIRST).toLowerCase();
  const l = pick(r, LAST).toLowerCase();
  const local = pick(r, [`${f}.${l}`, `${f}${l[0]}`, `${f[0]}${l}`, `${f}_${l}${int(r, 1, 99)}`, `${f}+news`, `${l}.${f}`]);
  return `${local}@${pick(r, DOMAINS)}`;
}
