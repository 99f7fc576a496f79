/**
 * Numeric PII: card numbers, phone numbers, SSN/ITIN, IPv4, dates of birth, bank account and routing
 * numbers. The lexer reports where a digit-initial token starts; `NumberRun.parse` reads the whole
 * run of digit groups and separators from there ("+1 (555) 010-9999", "4111 1111 1111 1111",
 * "123-45-6789", "10.0.0.1"), once and linearly, and `classifyRun` walks the groups trying shapes from
 * most to least specific. Context (see context.ts) decides what a shapeless run of digits is.
 */
import {
  abaValid, cardBrand, countryCodeLength, dateValid, ipv4Kind, ipv4Valid, itinValid, luhnValid, nanpValid,
  PLACEHOLDER_SSNS, ssnValid, TEST_CARD_NUMBERS,
} from "./validators.js";
import type { PiiType } from "./types.js";
import {
  CTX_ACCOUNT, CTX_CARD, CTX_DOB, CTX_ITIN, CTX_LICENSE, CTX_MEDICAL, CTX_PASSPORT, CTX_PHONE, CTX_ROUTING, CTX_SSN,
  CTX_VERSION,
} from "./context.js";

export const MAX_GROUPS = 24;
/** Runs longer than this many characters are not PII of any numeric kind; they are skipped whole. */
const MAX_RUN_CHARS = 64;

// Separator codes (the character before a group).
export const SEP_NONE = 0;
export const SEP_SPACE = 1;
export const SEP_DASH = 2;
export const SEP_DOT = 3;
export const SEP_SLASH = 4;
export const SEP_CLOSE_PAREN = 5; // ")" or ") " or ")-"
export const SEP_OPEN_PAREN = 6; // "(" or " ("

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isAlnum(c: number): boolean {
  return isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}

export interface NumberContext {
  /** True when a context word of class `cls` ended within `window` characters before `pos`. */
  near(cls: number, pos: number, window?: number): boolean;
  /** Among `classes`, the class whose word is nearest before `pos` (within the window), or 0. */
  nearest(classes: number, pos: number): number;
  /**
   * A "not a person's number" word (order, invoice…) since the previous run, close before `pos`, or
   * right after `end` — unless the context word of class `positive` is closer ("shipment …, phone 0171 …").
   */
  negative(pos: number, end: number, positive: number): boolean;
  /** A DOB word shortly after `pos` ("01/02/1980 (date of birth)"). */
  dobAfter(pos: number): boolean;
}

export type Emit = (type: PiiType, start: number, end: number, confidence: number, subtype?: string) => void;

/** One run of digit groups. Scratch storage, reused for every run. */
export class NumberRun {
  start = 0; // includes a leading "+" or "("
  end = 0;
  count = 0; // groups recorded (≤ MAX_GROUPS)
  overflow = false;
  plus = false;
  /** The run is glued to letters/digits on the left (an identifier, path or time) or the right. */
  gluedLeft = false;
  gluedRight = false;
  money = false;
  /** Digits in recorded groups. */
  digits = 0;
  readonly gStart = new Int32Array(MAX_GROUPS);
  readonly gLen = new Int32Array(MAX_GROUPS);
  readonly sep = new Uint8Array(MAX_GROUPS); // separator before group k (SEP_NONE for k = 0)

  parse(u: Uint16Array, n: number, s: number): void {
    this.count = 0;
    this.digits = 0;
    this.overflow = false;
    this.plus = false;
    this.money = false;
    this.start = s;
    const before = s > 0 ? u[s - 1] : 0;
    if (before === 0x2b) {
      this.plus = true;
      this.start = s - 1;
    } else if (before === 0x28) {
      this.start = s - 1;
    }
    const b2 = this.start > 0 ? u[this.start - 1] : 0;
    // "abc-123", "/v1/2", "#42", "x=5", "10:30": part of an identifier, path, reference or time.
    // ("key=123…" and "ssn:123…" are not glued: the value after a key is exactly what we look for.)
    this.gluedLeft =
      (before === 0x2d || before === 0x5f || before === 0x2f || before === 0x2e || before === 0x23) &&
      s >= 2 && (isAlnum(u[s - 2]) || before === 0x23);
    this.money = before === 0x24 || before === 0x20ac || before === 0xa3 || before === 0xa5 || b2 === 0x24;
    let p = s;
    let sepCode = SEP_NONE;
    for (;;) {
      const gs = p;
      while (p < n && isDigit(u[p])) p++;
      if (this.count < MAX_GROUPS) {
        this.gStart[this.count] = gs;
        this.gLen[this.count] = p - gs;
        this.sep[this.count] = sepCode;
        this.count++;
        this.digits += p - gs;
      } else this.overflow = true;
      if (p >= n || p - s > MAX_RUN_CHARS) {
        if (p - s > MAX_RUN_CHARS) this.overflow = true;
        if (!this.overflow) break;
        // Skip the rest of an absurd run in one linear sweep.
        while (p < n && (isDigit(u[p]) || u[p] === 0x2d || u[p] === 0x2e || u[p] === 0x20 || u[p] === 0x2f)) p++;
        break;
      }
      const c = u[p];
      const c1 = p + 1 < n ? u[p + 1] : 0;
      const c2 = p + 2 < n ? u[p + 2] : 0;
      let skip = 0;
      if (c === 0x20 || c === 0xa0) {
        if (isDigit(c1)) {
          sepCode = SEP_SPACE;
          skip = 1;
        } else if (c1 === 0x28 && isDigit(c2)) {
          sepCode = SEP_OPEN_PAREN;
          skip = 2;
        }
      } else if (c === 0x2d || c === 0x2010 || c === 0x2011 || c === 0x2013) {
        if (isDigit(c1)) {
          sepCode = SEP_DASH;
          skip = 1;
        }
      } else if (c === 0x2e) {
        if (isDigit(c1)) {
          sepCode = SEP_DOT;
          skip = 1;
        }
      } else if (c === 0x2f) {
        if (isDigit(c1)) {
          sepCode = SEP_SLASH;
          skip = 1;
        }
      } else if (c === 0x29) {
        if (isDigit(c1)) {
          sepCode = SEP_CLOSE_PAREN;
          skip = 1;
        } else if ((c1 === 0x20 || c1 === 0x2d) && isDigit(c2)) {
          sepCode = SEP_CLOSE_PAREN;
          skip = 2;
        }
      } else if (c === 0x28 && isDigit(c1)) {
        sepCode = SEP_OPEN_PAREN;
        skip = 1;
      }
      if (skip === 0) break;
      p += skip;
    }
    this.end = p;
    const after = p < n ? u[p] : 0;
    this.gluedRight =
      isAlnum(after) || after === 0x5f || after === 0x25 || after === 0x40 ||
      ((after === 0x2d || after === 0x2e || after === 0x2f || after === 0x3a) && p + 1 < n && isAlnum(u[p + 1]));
  }

  /** End offset of group k. */
  gEnd(k: number): number {
    return this.gStart[k] + this.gLen[k];
  }
}

/** Numeric value of group k (≤ 9 digits in the callers). */
function groupValue(text: string, run: NumberRun, k: number): number {
  let v = 0;
  for (let i = run.gStart[k], end = run.gEnd(k); i < end; i++) v = v * 10 + (text.charCodeAt(i) - 48);
  return v;
}

/** Digits of groups [from, to) concatenated. */
function digitsOf(text: string, run: NumberRun, from: number, to: number): string {
  let s = "";
  for (let k = from; k < to; k++) s += text.slice(run.gStart[k], run.gEnd(k));
  return s;
}

function sameSeps(run: NumberRun, from: number, to: number, allowed: (sep: number) => boolean): number {
  const s = run.sep[from + 1];
  if (!allowed(s)) return -1;
  for (let k = from + 2; k < to; k++) if (run.sep[k] !== s) return -1;
  return s;
}

function lensAre(run: NumberRun, from: number, lens: readonly number[]): boolean {
  if (from + lens.length > run.count) return false;
  for (let i = 0; i < lens.length; i++) if (run.gLen[from + i] !== lens[i]) return false;
  return true;
}

/** The run continues past group `to` with the same separator: the shape is part of something longer. */
function continues(run: NumberRun, to: number, innerSep: number, lastLen: number): boolean {
  if (to >= run.count) return false;
  const s = run.sep[to];
  if (s !== innerSep) return false;
  // After a space-separated shape, a following group of a different size is usually a separate value
  // ("4111 1111 1111 1111 12/25").
  return innerSep !== SEP_SPACE || run.gLen[to] === lastLen;
}

// Separator predicates and group-length shapes, defined once (not per call).
const isDotSep = (s: number) => s === SEP_DOT;
const isDashOrSpaceSep = (s: number) => s === SEP_DASH || s === SEP_SPACE;
const isDateSep = (s: number) => s === SEP_SLASH || s === SEP_DASH || s === SEP_DOT;
const isPhoneSep = (s: number) => s === SEP_SPACE || s === SEP_DASH || s === SEP_DOT || s === SEP_CLOSE_PAREN || s === SEP_OPEN_PAREN;
const LENS_SSN: readonly number[] = [3, 2, 4];
const LENS_NANP: readonly number[] = [3, 3, 4];
const LENS_LOCAL: readonly number[] = [3, 4];
const DOTTED_DOB_BEFORE = /\bd\.\s?o\.\s?b\.?\s*[:#-]?\s*$/i;

const clamp = (x: number) => (x > 0.99 ? 0.99 : x < 0 ? 0 : x);

/**
 * Walk the run's groups and emit what they are. `lastUsable` excludes a final group glued to letters.
 */
export function classifyRun(text: string, run: NumberRun, ctx: NumberContext, emit: Emit): void {
  if (run.gluedLeft || run.money) return;
  const usable = run.gluedRight ? run.count - 1 : run.count;
  if (usable <= 0 || run.overflow) return;
  // Most numbers in prose ("3 cats", "version 2.1", "$42.50") are too short to be anything: every
  // numeric type needs five digits, or three groups (a date) or four (an IPv4 address).
  if (run.digits < 5 && usable < 3) return;
  let j = 0;
  let prevMatched = true;
  while (j < usable) {
    // Start a shape only at the run's start, right after a recognised value, or at a boundary where a
    // space gives way to another separator ("Order 12 555-010-9999").
    const canStart = j === 0 || prevMatched || (run.sep[j] === SEP_SPACE && j + 1 < usable && run.sep[j + 1] !== SEP_SPACE);
    const used = canStart ? matchAt(text, run, j, usable, ctx, emit) : 0;
    if (used > 0) {
      j += used;
      prevMatched = true;
    } else {
      j++;
      prevMatched = false;
    }
  }
}

function matchAt(text: string, run: NumberRun, j: number, usable: number, ctx: NumberContext, emit: Emit): number {
  const start = j === 0 ? run.start : run.gStart[j];
  const gs = run.gStart[j];
  const nearestId = ctx.nearest(
    CTX_SSN | CTX_ITIN | CTX_PHONE | CTX_ACCOUNT | CTX_ROUTING | CTX_CARD | CTX_PASSPORT | CTX_LICENSE | CTX_MEDICAL,
    start,
  );
  const neg = ctx.negative(start, run.gEnd(usable - 1), nearestId);
  const len0 = run.gLen[j];
  const plus = j === 0 && run.plus;
  const paren = j === 0 && start < gs; // "(" before the first group

  // --- IPv4: four dotted groups
  if (!plus && !paren && j + 4 <= usable && sameSeps(run, j, j + 4, isDotSep) === SEP_DOT && !(j + 4 < run.count && run.sep[j + 4] === SEP_DOT)) {
    const parts = [0, 1, 2, 3].map((i) => text.slice(run.gStart[j + i], run.gEnd(j + i)));
    if (ipv4Valid(parts) && !ctx.near(CTX_VERSION, start, 24)) {
      const kind = ipv4Kind(parts);
      let conf = kind === "public" ? 0.85 : kind === "internal" ? 0.6 : 0.4;
      // Loopback, "any", and network blocks ("10.0.0.0/16") name no host, let alone a person.
      const end = run.gEnd(j + 3);
      if (parts[0] === "127" || parts.join(".") === "0.0.0.0" || (text[end] === "/" && /^\/\d{1,2}\b/.test(text.slice(end, end + 4)))) {
        conf = 0.35;
      }
      emit("ipv4", gs, run.gEnd(j + 3), conf);
      return 4;
    }
  }

  // --- Dates: only personal data as a date of birth
  const dateUsed = matchDate(text, run, j, usable, ctx, emit);
  if (dateUsed > 0) return dateUsed;

  // --- Cards: grouped 4-4-4-4 / 4-6-5 / 4-6-4 / 4-4-4-4-3, or a bare 13-19 digit number
  const cardUsed = matchCard(text, run, j, usable, nearestId, neg, emit);
  if (cardUsed > 0) return cardUsed;

  // --- SSN / ITIN: 3-2-4
  if (!plus && !paren && lensAre(run, j, LENS_SSN) && j + 3 <= usable) {
    const sep = sameSeps(run, j, j + 3, isDashOrSpaceSep);
    if (sep > 0 && !continues(run, j + 3, sep, 4)) {
      const a = text.slice(run.gStart[j], run.gEnd(j));
      const g = text.slice(run.gStart[j + 1], run.gEnd(j + 1));
      const s = text.slice(run.gStart[j + 2], run.gEnd(j + 2));
      const ctxSsn = nearestId === CTX_SSN || nearestId === CTX_ITIN;
      if (ssnValid(a, g, s)) {
        let conf = sep === SEP_DASH ? 0.8 : 0.6;
        if (ctxSsn) conf += 0.15;
        else if (nearestId !== 0) conf -= 0.2; // "phone: 123 45 6789" is probably not an SSN
        if (neg) conf -= 0.4;
        // Advertising/documentation SSNs (123-45-6789, 078-05-1120): reported only when labelled as an SSN.
        const placeholder = PLACEHOLDER_SSNS.has(a + g + s);
        if (placeholder) conf = ctxSsn ? 0.5 : 0.3;
        emit("ssn", gs, run.gEnd(j + 2), clamp(conf), placeholder ? "placeholder" : undefined);
        return 3;
      }
      if (itinValid(a, g, s)) {
        let conf = sep === SEP_DASH ? 0.8 : 0.6;
        if (ctxSsn) conf += 0.15;
        if (neg) conf -= 0.4;
        emit("itin", gs, run.gEnd(j + 2), clamp(conf));
        return 3;
      }
    }
  }

  // --- Phone numbers
  const phoneUsed = matchPhone(text, run, j, usable, nearestId, neg, emit);
  if (phoneUsed > 0) return phoneUsed;

  // --- Bare numbers that only context can name
  if (nearestId !== 0) {
    // A single group, or dash/space-separated groups, read as one number.
    let k = j + 1;
    while (k < usable && (run.sep[k] === SEP_DASH || run.sep[k] === SEP_SPACE) && k - j < 5) k++;
    const digits = digitsOf(text, run, j, k);
    const end = run.gEnd(k - 1);
    const single = k === j + 1;
    switch (nearestId) {
      case CTX_SSN:
      case CTX_ITIN: {
        if (digits.length === 9 && single) {
          const a = digits.slice(0, 3), g = digits.slice(3, 5), s = digits.slice(5);
          if (ssnValid(a, g, s)) emit("ssn", gs, end, PLACEHOLDER_SSNS.has(digits) ? 0.5 : 0.85, PLACEHOLDER_SSNS.has(digits) ? "placeholder" : undefined);
          else if (itinValid(a, g, s)) emit("itin", gs, end, 0.85);
          return 1;
        }
        break;
      }
      case CTX_ROUTING:
        if (digits.length === 9 && single) {
          if (abaValid(digits)) emit("routing_number", gs, end, 0.9);
          return 1;
        }
        break;
      case CTX_ACCOUNT:
        if (digits.length >= 6 && digits.length <= 17) {
          // A nine-digit number that passes the ABA check next to "routing" is the routing number.
          if (digits.length === 9 && single && ctx.near(CTX_ROUTING, start, 48) && abaValid(digits)) {
            emit("routing_number", gs, end, 0.85);
          } else emit("bank_account", gs, end, neg ? 0.45 : 0.8);
          return k - j;
        }
        break;
      case CTX_CARD:
        if (digits.length >= 13 && digits.length <= 19 && luhnValid(digits)) {
          emit("credit_card", gs, end, 0.85, cardBrand(digits));
          return k - j;
        }
        break;
      case CTX_PASSPORT:
        if (digits.length >= 6 && digits.length <= 10 && single) {
          emit("passport", gs, end, 0.8);
          return 1;
        }
        break;
      case CTX_LICENSE:
        if (digits.length >= 5 && digits.length <= 14) {
          emit("drivers_license", gs, end, 0.75);
          return k - j;
        }
        break;
      case CTX_MEDICAL:
        if (digits.length >= 5 && digits.length <= 12 && single) {
          emit("medical_record", gs, end, 0.8);
          return 1;
        }
        break;
      case CTX_PHONE:
        break; // handled by matchPhone
    }
  }
  return 0;
}

function matchDate(text: string, run: NumberRun, j: number, usable: number, ctx: NumberContext, emit: Emit): number {
  if (j + 3 > usable) return 0;
  const sep = sameSeps(run, j, j + 3, isDateSep);
  if (sep < 0) return 0;
  const l0 = run.gLen[j], l1 = run.gLen[j + 1], l2 = run.gLen[j + 2];
  let ok = false;
  if (l0 === 4 && l1 <= 2 && l2 <= 2) ok = dateValid(groupValue(text, run, j), groupValue(text, run, j + 1), groupValue(text, run, j + 2));
  else if (l0 <= 2 && l1 <= 2 && (l2 === 4 || l2 === 2)) {
    const a = groupValue(text, run, j);
    const b = groupValue(text, run, j + 1);
    const y = (l2 === 2 ? 1900 : 0) + groupValue(text, run, j + 2);
    ok = dateValid(y, a, b) || dateValid(y, b, a);
  }
  if (!ok || continues(run, j + 3, sep, -1)) return 0;
  const start = run.gStart[j];
  const end = run.gEnd(j + 2);
  // "D.O.B." is three one-letter words, so it is recognised here rather than through the vocabulary.
  if (ctx.near(CTX_DOB, start, 40) || ctx.dobAfter(end) || DOTTED_DOB_BEFORE.test(text.slice(Math.max(0, start - 12), start))) {
    emit("date_of_birth", start, end, 0.85);
  }
  return 3;
}

function matchCard(text: string, run: NumberRun, j: number, usable: number, nearestId: number, neg: boolean, emit: Emit): number {
  let used = 0;
  let grouped = false;
  if (run.gLen[j] >= 13 && run.gLen[j] <= 19 && !(j + 1 < run.count && (run.sep[j + 1] === SEP_DASH || run.sep[j + 1] === SEP_DOT))) {
    used = 1;
  } else {
    for (const shape of CARD_SHAPES) {
      if (j + shape.length > usable || !lensAre(run, j, shape)) continue;
      const sep = sameSeps(run, j, j + shape.length, isDashOrSpaceSep);
      if (sep < 0 || continues(run, j + shape.length, sep, shape[shape.length - 1])) continue;
      used = shape.length;
      grouped = true;
      break;
    }
  }
  if (used === 0) return 0;
  if (j === 0 && (run.plus || run.start < run.gStart[0])) return 0;
  const digits = digitsOf(text, run, j, j + used);
  if (!luhnValid(digits)) return 0;
  const brand = cardBrand(digits);
  const cardCtx = nearestId === CTX_CARD;
  if (!brand && !cardCtx) return 0;
  let conf = grouped ? 0.9 : 0.8;
  if (!brand) conf = 0.7;
  if (cardCtx) conf += 0.08;
  else if (neg) conf -= 0.45;
  else if (nearestId !== 0 && !grouped) conf -= 0.3; // "account 4…" or "phone …": context says otherwise
  // Published test numbers (4111…, 4242…) are nobody's card, but a redaction service should still
  // hide them: reported at the default threshold, marked so callers can filter them out.
  const test = TEST_CARD_NUMBERS.has(digits);
  emit("credit_card", run.gStart[j], run.gEnd(j + used - 1), test ? 0.5 : clamp(conf), test ? "test_card" : brand);
  return used;
}

const CARD_SHAPES: readonly (readonly number[])[] = [
  [4, 4, 4, 4],
  [4, 6, 5],
  [4, 6, 4],
  [4, 4, 4, 4, 3],
  [4, 4, 4, 4, 2],
  [4, 4, 4, 3],
  [4, 4, 4, 1],
];

function matchPhone(text: string, run: NumberRun, j: number, usable: number, nearestId: number, neg: boolean, emit: Emit): number {
  const phoneCtx = nearestId === CTX_PHONE;
  const otherCtx = nearestId !== 0 && !phoneCtx;
  const start = j === 0 ? run.start : run.gStart[j];
  const plus = j === 0 && run.plus;

  // International: "+CC …" or "00CC …", up to 15 digits
  const intl00 = !plus && run.gLen[j] >= 2 && text.startsWith("00", run.gStart[j]) && run.gLen[j] <= 4 && j + 1 < usable;
  if (plus || intl00) {
    let digits = 0;
    let k = j;
    while (k < usable && (k === j || isPhoneSep(run.sep[k])) && digits + run.gLen[k] <= 15) {
      digits += run.gLen[k];
      k++;
    }
    const all = digitsOf(text, run, j, k).slice(intl00 ? 2 : 0);
    const cc = countryCodeLength(all);
    if (cc > 0 && all.length >= 8 && all.length <= 15 && !(k < usable && isPhoneSep(run.sep[k]))) {
      let conf = 0.85 + (phoneCtx ? 0.1 : 0);
      if (neg) conf -= 0.3;
      emit("phone", start, run.gEnd(k - 1), clamp(conf));
      return k - j;
    }
    return 0;
  }

  if (otherCtx && nearestId !== CTX_ACCOUNT) return 0;
  const parenFirst = j === 0 && run.start < run.gStart[0];

  // NANP: (NXX) NXX-XXXX, NXX-NXX-XXXX, NXX.NXX.XXXX, NXX NXX XXXX, 1-NXX-NXX-XXXX
  for (let lead = 0; lead < 2; lead++) {
    const a = j + lead;
    if (lead === 1 && !(run.gLen[j] === 1 && text[run.gStart[j]] === "1")) continue;
    if (!lensAre(run, a, LENS_NANP) || a + 3 > usable) continue;
    const sepA = run.sep[a + 1];
    const sepB = run.sep[a + 2];
    let shapeConf = 0;
    if ((parenFirst && lead === 0 && sepA === SEP_CLOSE_PAREN) || sepA === SEP_OPEN_PAREN || (lead === 1 && run.sep[a] === SEP_OPEN_PAREN && sepA === SEP_CLOSE_PAREN)) {
      if (sepB === SEP_DASH || sepB === SEP_SPACE || sepB === SEP_DOT) shapeConf = 0.85;
    } else if (sepA === sepB && (sepA === SEP_DASH || sepA === SEP_DOT)) shapeConf = 0.75;
    else if (sepA === sepB && sepA === SEP_SPACE) shapeConf = 0.55;
    if (shapeConf === 0) continue;
    if (continues(run, a + 3, sepB, 4)) continue;
    const d = digitsOf(text, run, a, a + 3);
    if (!nanpValid(d)) continue;
    let conf = shapeConf + (phoneCtx ? 0.15 : 0);
    if (neg) conf -= 0.35;
    if (nearestId === CTX_ACCOUNT) conf -= 0.3;
    emit("phone", start, run.gEnd(a + 2), clamp(conf));
    return lead + 3;
  }

  // National formats with a trunk "0" (UK 020 7946 0958, FR 01 23 45 67 89, DE 030 1234567): distinctive
  // enough when grouped by spaces; bare digits need context.
  if (text[run.gStart[j]] === "0" && !otherCtx) {
    let k = j + 1;
    let digits = run.gLen[j];
    while (k < usable && (run.sep[k] === SEP_SPACE || run.sep[k] === SEP_DASH) && digits + run.gLen[k] <= 12) {
      digits += run.gLen[k];
      k++;
    }
    if (k - j >= 2 && digits >= 9 && digits <= 12 && !(k < usable && run.sep[k] === SEP_SPACE)) {
      let conf = (phoneCtx ? 0.8 : 0.55) - (neg ? 0.35 : 0);
      emit("phone", start, run.gEnd(k - 1), clamp(conf));
      return k - j;
    }
  }

  // Context-only: bare 10/11 digits (or 7-digit local numbers) after "call", "phone", "mobile"…
  if (phoneCtx) {
    const d = text.slice(run.gStart[j], run.gEnd(j));
    if (run.gLen[j] === 10 && nanpValid(d)) {
      emit("phone", start, run.gEnd(j), 0.75);
      return 1;
    }
    if (run.gLen[j] === 11 && d[0] === "1" && nanpValid(d.slice(1))) {
      emit("phone", start, run.gEnd(j), 0.75);
      return 1;
    }
    if (run.gLen[j] >= 9 && run.gLen[j] <= 12 && d[0] === "0") {
      emit("phone", start, run.gEnd(j), 0.7);
      return 1;
    }
    if (lensAre(run, j, LENS_LOCAL) && j + 2 <= usable && run.sep[j + 1] === SEP_DASH && /^[2-9]/.test(d)) {
      emit("phone", start, run.gEnd(j + 1), 0.6);
      return 2;
    }
  }
  return 0;
}
