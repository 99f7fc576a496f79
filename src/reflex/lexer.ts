/**
 * The single pass every detector shares.
 *
 * The lexer copies the input into a reusable UTF-16 buffer (a native copy; indexing a typed array is
 * several times cheaper than `charCodeAt` on this engine) and walks it once. For each word it folds the
 * characters inline (case, homoglyphs, accents, full-width forms, invisible characters, `don't` → `dont`)
 * into a hash and looks it up in the vocabulary; for the few shapes detectors care about (a token that
 * starts with a digit, a long token, a known secret prefix, an IBAN-like token, `@`, `{{`, `<|`, `%41`…)
 * it appends an event. Detectors then read only the events: sparse, already in text order.
 *
 * Events live in one Int32Array (EVENT_STRIDE slots each) owned by the lexer and overwritten by the
 * next call, so a lexer must not be shared by code that could interleave calls (it is synchronous, so
 * one instance per detector is enough).
 *
 * Offsets are UTF-16 code units, like JavaScript string indices.
 */
import * as norm from "./normalize.js";
import * as voc from "./vocab.js";
import type { Vocabulary, VocabularyTable } from "./vocab.js";

// Everything the hot loop touches is rebound to module-local constants: some loaders (tsx, vitest)
// compile imported bindings to getter calls, which would cost a function call per character.
const CHAR_CLASS = norm.CHAR_CLASS;
const LEET_CODE = norm.LEET_CODE;
const MATH_HIGH_SURROGATE = norm.MATH_HIGH_SURROGATE;
const TAG_HIGH_SURROGATE = norm.TAG_HIGH_SURROGATE;
const FNV_OFFSET = voc.FNV_OFFSET;
const FNV_PRIME = voc.FNV_PRIME;
const MAX_WORD_LENGTH = voc.MAX_WORD_LENGTH;
const K = norm.K;
const WORD_FOLD = norm.WORD_FOLD;
const F_DIGIT = norm.WF_DIGIT;
const F_UPPER = norm.WF_UPPER;
const F_MAPPED = norm.WF_MAPPED;
const F_NFKC = norm.WF_NFKC;
const F_LETTER = norm.WF_LETTER;
const F_OTHER = norm.WF_OTHER_LETTER;
const C_LOWER = K.Lower;
const C_UPPER = K.Upper;
const C_DIGIT = K.Digit;
const C_MAPPED = K.Mapped;
const C_LETTER = K.Letter;
const C_NFKC = K.Nfkc;
const C_SKIP = K.Skip;
const C_SPACE = K.Space;
const C_NEWLINE = K.Newline;
const C_APOS = K.Apos;
const C_QUOTE = K.Quote;
const C_BACKTICK = K.Backtick;
const C_AT = K.At;
const C_SENTENCE = K.Sentence;
const C_LEET = K.Leet;
const C_TRIGGER = K.Trigger;
const C_HIGH = K.HighSurrogate;

/** Classes that can continue a word. */
const WORDISH = new Uint8Array(32);
for (const k of [C_LOWER, C_UPPER, C_DIGIT, C_MAPPED, C_LETTER, C_NFKC, C_HIGH]) WORDISH[k] = 1;

export const EVENT_STRIDE = 8;
// Event layout: [kind, start, end, a, b, c, d, -]
export const EV_KIND = 0;
export const EV_START = 1;
export const EV_END = 2;
export const EV_A = 3;
export const EV_B = 4;
export const EV_C = 5;
export const EV_D = 6;

/** A vocabulary word. a = vocabulary id, b = word ordinal, c = segment (sentence/line), d = WF_* flags. */
export const EV_WORD = 1;
/** A token starting with a digit. a = 1 when letters follow in the same token ("10am", "0x…"), b = ordinal. */
export const EV_NUM = 2;
/** A token of 16+ characters. a = 1 upper | 2 lower | 4 digit. */
export const EV_LONG = 3;
/** A token with a capital or digit whose first two characters start a known secret format ("AK", "AI", "bc"…). */
export const EV_PREFIX = 4;
/** Two upper-case letters then two digits: possibly an IBAN. */
export const EV_IBAN = 5;
/** A short hex-looking token followed by ':' or '-': possibly IPv6 or a MAC address. */
export const EV_HEXSEP = 6;
/** An '@'. */
export const EV_AT = 7;
/** A two-character structural marker; a = MARK_*, d = WF_*QUOTED flags in force. */
export const EV_MARK = 8;
/** A run of %XX escapes (start..end). */
export const EV_PCT = 9;

export const MARK_DOUBLE_BRACE = 1; // {{
export const MARK_BRACE_PERCENT = 2; // {%
export const MARK_DOLLAR_BRACE = 3; // ${
export const MARK_HASH_BRACE = 4; // #{
export const MARK_ANGLE_PERCENT = 5; // <%
export const MARK_ANGLE_PIPE = 6; // <|
export const MARK_DOUBLE_ANGLE = 7; // <<
export const MARK_DOLLAR_PAREN = 8; // $(

/** Word flags (EV_D of EV_WORD). */
export const WF_ALLCAPS = 1;
export const WF_LEET = 2;
export const WF_DQUOTED = 4;
export const WF_SQUOTED = 8;
export const WF_BACKTICKED = 16;
export const WF_QUOTED = WF_DQUOTED | WF_SQUOTED | WF_BACKTICKED;

/** Whole-text flags (LexResult.flags): which obfuscations were seen. */
export const LF_INVISIBLE = 1;
export const LF_HOMOGLYPH = 2;
export const LF_NEEDS_NFKC = 4;
export const LF_TAGS = 8;
export const LF_LEET = 16;
/** Letters of scripts written without spaces (CJK) or not folded to Latin: phrase rules cannot see them. */
export const LF_OTHER_SCRIPT = 32;

export interface LexResult {
  readonly text: string;
  readonly length: number;
  /**
   * 64-bit hash (16 hex digits) of the normalised word stream: words folded as above (case, look-alikes,
   * accents, full-width forms, invisible characters, in-word apostrophes), punctuation kept, whitespace
   * only separating words. Seeded per lexer.
   */
  readonly normalizedHash: string;
  /** The text as UTF-16 code units (valid until the next lex call; only the first `length` are meaningful). */
  readonly units: Uint16Array;
  readonly events: Int32Array;
  readonly eventCount: number;
  /** LF_* flags. */
  readonly flags: number;
  readonly wordCount: number;
}

export interface Lexer {
  lex(text: string): LexResult;
  readonly vocabulary: Vocabulary;
}

export interface LexerOptions {
  /**
   * Two-character prefixes (case-sensitive) that start secret formats with a capital letter or digit
   * in their first word ("AKIA…", "AIza…", "bc1…"); each emits EV_PREFIX. Lower-case prefixes ("sk-",
   * "ghp_") are vocabulary words instead.
   */
  secretPrefixes?: readonly string[];
  /** Seed for normalizedHash (default 0). */
  hashSeed?: number;
  /** Buffers above this many bytes are allocated per call instead of kept (default 4 MiB). */
  maxRetainedBytes?: number;
}

class LexState implements LexResult {
  text = "";
  length = 0;
  normalizedHash = "";
  units: Uint16Array = new Uint16Array(0);
  events: Int32Array<ArrayBuffer> = new Int32Array(EVENT_STRIDE * 256);
  eventCount = 0;
  flags = 0;
  wordCount = 0;
}

/** What one lexer's pass reads besides the text: fixed when the lexer is created. */
interface LexConfig {
  readonly vocabulary: Vocabulary;
  readonly table: VocabularyTable;
  /** 1 at (first << 7 | second) for each two-character secret prefix. */
  readonly prefixTable: Uint8Array;
  readonly seed: number;
}

const HASH_P1 = 0x01000193;
const HASH_P2 = 0x5bd1e995;

export function createLexer(vocabulary: Vocabulary, options: LexerOptions = {}): Lexer {
  const maxRetained = options.maxRetainedBytes ?? 4 * 1024 * 1024;
  const seed = options.hashSeed ?? 0;
  const prefixTable = new Uint8Array(1 << 14);
  for (const p of options.secretPrefixes ?? []) {
    if (p.length !== 2 || p.charCodeAt(0) > 127 || p.charCodeAt(1) > 127) throw new Error(`bad secret prefix '${p}'`);
    prefixTable[(p.charCodeAt(0) << 7) | p.charCodeAt(1)] = 1;
  }
  let bytes = Buffer.from(new ArrayBuffer(4096));
  let units = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
  const state = new LexState();
  const config: LexConfig = { vocabulary, table: vocabulary.table, prefixTable, seed };

  /** The text as UTF-16 units followed by two sentinel spaces, so the loop can peek without bounds checks. */
  function unitsFor(text: string): Uint16Array {
    const need = (text.length + 2) * 2;
    let target = bytes;
    let view = units;
    if (need > bytes.byteLength) {
      let size = bytes.byteLength;
      while (size < need) size *= 2;
      // A Buffer from Buffer.alloc may sit at an odd offset in the shared pool; Uint16Array needs even.
      target = Buffer.from(new ArrayBuffer(size));
      view = new Uint16Array(target.buffer, target.byteOffset, size >> 1);
      if (size <= maxRetained) {
        bytes = target;
        units = view;
      }
    }
    target.write(text, 0, "utf16le");
    view[text.length] = 0x20;
    view[text.length + 1] = 0x20;
    return view;
  }

  function lex(text: string): LexResult {
    return lexUnits(text, unitsFor(text), state, config);
  }

  return { lex, vocabulary };
}

/**
 * The pass itself, at module level rather than inside createLexer: V8 specialises optimised code to a
 * closure's captured values only while one closure exists per creation site, so with a second lexer in
 * the process (a second screener) a closure here ran about 1.7x slower. A module-level function is
 * created once, and takes the per-lexer tables as arguments.
 */
function lexUnits(text: string, u: Uint16Array, state: LexState, config: LexConfig): LexResult {
  const n = text.length;
  const cls = CHAR_CLASS;
  const fold = WORD_FOLD;
  const table = config.table;
  const vKeys = table.keys;
  const vLens = table.lens;
  const vIds = table.ids;
  const vMask = table.mask;
  const vocab = config.vocabulary;
  const prefixTable = config.prefixTable;
  const seed = config.seed;
  let ev = state.events;
  let evCount = 0;
  let flags = 0;
  let ord = 0;
  let seg = 0;
  // Quote state: where the currently open quote of each style began (-1 = none).
  let dqOpen = -1;
  let sqOpen = -1;
  let btOpen = -1;
  let lastPct = -1; // index of the last EV_PCT event
  // The current word.
  let start = 0;
  let h = FNV_OFFSET;
  let len = 0;
  let kinds = 0; // OR of WORD_FOLD kind bits seen
  let leet = 0;
  // normalizedHash lanes
  let n1 = FNV_OFFSET ^ seed;
  let n2 = 0x1b873593 ^ seed;

  // One flat loop; i === n reads the sentinel space, which ends a last word.
  for (let i = 0; i <= n; i++) {
    const c = u[i];
    const x = fold[c];
    if (x !== 0) {
      // A letter or digit: the common case, one table load.
      if (len === 0) start = i;
      h = Math.imul(h ^ (x & 0xffff), FNV_PRIME);
      kinds |= x;
      len++;
      // …and the rest of the word in a tight loop (the sentinel stops it at the end of the text).
      for (let y = fold[u[i + 1]]; y !== 0; y = fold[u[i + 1]]) {
        i++;
        h = Math.imul(h ^ (y & 0xffff), FNV_PRIME);
        kinds |= y;
        len++;
      }
      continue;
    }
    const k = cls[c];
    if (k === C_HIGH && c === MATH_HIGH_SURROGATE && i < n) {
      // 𝐢𝐠𝐧𝐨𝐫𝐞: mathematical letters are word characters; the NFKC slow path reads them properly.
      if (len === 0) start = i;
      flags |= LF_NEEDS_NFKC;
      h = Math.imul(h ^ u[i + 1], FNV_PRIME);
      kinds |= F_NFKC;
      len++;
      i++;
      continue;
    }
    if (len !== 0) {
      // Characters that do not end a word: invisibles, "don't", leetspeak symbols ("pa$$word").
      if (k === C_SKIP) {
        flags |= LF_INVISIBLE;
        continue;
      }
      if (fold[u[i + 1]] !== 0) {
        // "don't" → dont; but "OpenAI's" is OpenAI followed by 's (possessive or "is")
        if (k === C_APOS && (kinds & F_LETTER) !== 0 && !((u[i + 1] | 0x20) === 0x73 && fold[u[i + 2]] === 0)) continue;
        if (k === C_LEET || c === 0x21) {
          h = Math.imul(h ^ c, FNV_PRIME);
          leet++;
          len++;
          continue;
        }
      }

      // ---- end of a word [start, i) ----
      const end = i;
      n1 = (Math.imul(n1 ^ h, HASH_P1) + len) | 0;
      n2 = Math.imul(n2 ^ h, HASH_P2);
      n2 ^= n2 >>> 13;
      if ((kinds & F_LETTER) !== 0 && len <= MAX_WORD_LENGTH) {
        let id = -1;
        let wf = 0;
        if ((kinds & F_DIGIT) === 0 && leet === 0) {
          // vocabulary.lookup, inlined; a slot is empty iff its length is 0 (vocabulary words are never empty)
          let slot = (h ^ (h >>> 15)) & vMask;
          // Probe the one-byte lengths first (0 = empty slot): a quarter of the memory of the ids.
          for (let l = vLens[slot]; l !== 0; l = vLens[slot]) {
            if (l === len && vKeys[slot] === h) {
              id = vIds[slot] - 1;
              break;
            }
            slot = (slot + 1) & vMask;
          }
        } else {
          id = lookupLeet(u, start, end, len, vocab);
          if (id >= 0) {
            wf = WF_LEET;
            flags |= LF_LEET;
          }
        }
        if (id >= 0) {
          if ((kinds & (F_LETTER & ~F_UPPER)) === 0 && len > 1) wf |= WF_ALLCAPS;
          if (dqOpen >= 0) wf |= WF_DQUOTED;
          if (sqOpen >= 0) wf |= WF_SQUOTED;
          if (btOpen >= 0) wf |= WF_BACKTICKED;
          if (evCount * EVENT_STRIDE + EVENT_STRIDE > ev.length) ev = grow(ev, state);
          const o = evCount++ * EVENT_STRIDE;
          ev[o] = EV_WORD;
          ev[o + 1] = start;
          ev[o + 2] = end;
          ev[o + 3] = id;
          ev[o + 4] = ord;
          ev[o + 5] = seg;
          ev[o + 6] = wf;
        }
      }
      // Everything below concerns words with digits or capitals, long words, or words before ':'/'-'.
      if ((kinds & (F_DIGIT | F_UPPER | F_MAPPED | F_NFKC | F_OTHER)) !== 0 || len >= 16 || c === 0x3a || c === 0x2d) {
        const first = u[start];
        let kind = 0;
        let a = 0;
        if (cls[first] === C_DIGIT) {
          kind = EV_NUM;
          a = (kinds & F_LETTER) !== 0 ? 1 : 0;
        } else if ((kinds & (F_DIGIT | F_UPPER)) !== 0 && first < 128 && u[start + 1] < 128 && prefixTable[(first << 7) | u[start + 1]] === 1) {
          kind = EV_PREFIX;
        } else if (
          (kinds & F_UPPER) !== 0 && (kinds & F_DIGIT) !== 0 && len >= 4 &&
          cls[first] === C_UPPER && cls[u[start + 1]] === C_UPPER && cls[u[start + 2]] === C_DIGIT && cls[u[start + 3]] === C_DIGIT
        ) {
          kind = EV_IBAN;
        } else if (len <= 4 && (c === 0x3a || c === 0x2d) && isHexRun(u, start, end)) {
          kind = EV_HEXSEP;
        }
        if (kind !== 0) {
          if (evCount * EVENT_STRIDE + EVENT_STRIDE > ev.length) ev = grow(ev, state);
          const o = evCount++ * EVENT_STRIDE;
          ev[o] = kind;
          ev[o + 1] = start;
          ev[o + 2] = end;
          ev[o + 3] = a;
          ev[o + 4] = ord;
          ev[o + 5] = seg;
          ev[o + 6] = 0;
        }
        if (len >= 16) {
          if (evCount * EVENT_STRIDE + EVENT_STRIDE > ev.length) ev = grow(ev, state);
          const o = evCount++ * EVENT_STRIDE;
          ev[o] = EV_LONG;
          ev[o + 1] = start;
          ev[o + 2] = end;
          ev[o + 3] = ((kinds & F_UPPER) !== 0 ? 1 : 0) | ((kinds & (F_LETTER & ~F_UPPER)) !== 0 ? 2 : 0) | ((kinds & F_DIGIT) !== 0 ? 4 : 0);
          ev[o + 4] = ord;
          ev[o + 5] = seg;
          ev[o + 6] = 0;
        }
        if ((kinds & F_MAPPED) !== 0) flags |= LF_HOMOGLYPH;
        if ((kinds & F_NFKC) !== 0) flags |= LF_NEEDS_NFKC;
        if ((kinds & F_OTHER) !== 0) flags |= LF_OTHER_SCRIPT;
      }
      ord++;
      len = 0;
      h = FNV_OFFSET;
      kinds = 0;
      leet = 0;
    }

    // ---- not a word character ----
    if (k === C_SPACE) continue;
    if (k === C_NEWLINE) {
      seg++;
      // A blank line ends a paragraph: a quote still open there was never a quote.
      if (u[i + 1] === 0x0a || (u[i + 1] === 0x0d && u[i + 2] === 0x0a)) {
        if (dqOpen >= 0) unquote(ev, evCount, dqOpen, WF_DQUOTED);
        if (sqOpen >= 0) unquote(ev, evCount, sqOpen, WF_SQUOTED);
        dqOpen = sqOpen = -1;
      }
      continue;
    }
    if (k === C_SKIP) {
      flags |= LF_INVISIBLE;
      continue;
    }
    n1 = Math.imul(n1 ^ c, HASH_P1);
    if (k === C_SENTENCE) {
      const next = cls[u[i + 1]];
      if (next === C_SPACE || next === C_NEWLINE || next === C_QUOTE) seg++;
      continue;
    }
    if (k === C_QUOTE) {
      if (c === 0x201c || c === 0xab) dqOpen = i;
      else if (c === 0x201d || c === 0xbb) dqOpen = -1;
      else dqOpen = dqOpen >= 0 ? -1 : i;
      continue;
    }
    if (k === C_APOS) {
      const prevWord = i > 0 && fold[u[i - 1]] !== 0;
      const nextWord = fold[u[i + 1]] !== 0;
      if (!prevWord && nextWord && c !== 0x2019) {
        if (sqOpen < 0) sqOpen = i;
      } else if (!nextWord && sqOpen >= 0) sqOpen = -1;
      continue;
    }
    if (k === C_BACKTICK) {
      btOpen = btOpen >= 0 ? -1 : i;
      continue;
    }
    if (k === C_AT) {
      if (evCount * EVENT_STRIDE + EVENT_STRIDE > ev.length) ev = grow(ev, state);
      const o = evCount++ * EVENT_STRIDE;
      ev[o] = EV_AT;
      ev[o + 1] = i;
      ev[o + 2] = i + 1;
      ev[o + 3] = 0;
      ev[o + 4] = ord;
      ev[o + 5] = seg;
      ev[o + 6] = 0;
      continue;
    }
    if (k === C_TRIGGER || k === C_LEET) {
      const next = u[i + 1];
      let mark = 0;
      if (c === 0x7b) mark = next === 0x7b ? MARK_DOUBLE_BRACE : next === 0x25 ? MARK_BRACE_PERCENT : 0;
      else if (c === 0x24) mark = next === 0x7b ? MARK_DOLLAR_BRACE : next === 0x28 ? MARK_DOLLAR_PAREN : 0;
      else if (c === 0x23) mark = next === 0x7b ? MARK_HASH_BRACE : 0;
      else if (c === 0x3c) mark = next === 0x25 ? MARK_ANGLE_PERCENT : next === 0x7c ? MARK_ANGLE_PIPE : next === 0x3c ? MARK_DOUBLE_ANGLE : 0;
      else if (c === 0x25 && isHex(next) && isHex(u[i + 2])) {
        // Extend the previous %XX run when close, so "Ignore%20all%20previous" is one event.
        const last = lastPct * EVENT_STRIDE;
        if (lastPct >= 0 && ev[last + EV_END] >= i - 24) {
          ev[last + EV_END] = i + 3;
          ev[last + EV_A]++;
        } else {
          if (evCount * EVENT_STRIDE + EVENT_STRIDE > ev.length) ev = grow(ev, state);
          lastPct = evCount;
          const o = evCount++ * EVENT_STRIDE;
          ev[o] = EV_PCT;
          ev[o + 1] = i;
          ev[o + 2] = i + 3;
          ev[o + 3] = 1;
          ev[o + 4] = ord;
          ev[o + 5] = seg;
          ev[o + 6] = 0;
        }
        i += 2;
        continue;
      }
      if (mark !== 0) {
        if (evCount * EVENT_STRIDE + EVENT_STRIDE > ev.length) ev = grow(ev, state);
        const o = evCount++ * EVENT_STRIDE;
        ev[o] = EV_MARK;
        ev[o + 1] = i;
        ev[o + 2] = i + 2;
        ev[o + 3] = mark;
        ev[o + 4] = ord;
        ev[o + 5] = seg;
        ev[o + 6] = (dqOpen >= 0 ? WF_DQUOTED : 0) | (sqOpen >= 0 ? WF_SQUOTED : 0) | (btOpen >= 0 ? WF_BACKTICKED : 0);
      }
      continue;
    }
    if (k === C_HIGH) {
      if (c === TAG_HIGH_SURROGATE) flags |= LF_TAGS | LF_INVISIBLE;
      i++; // emoji and other astral symbols are not words; skip the low half
    }
  }
  if (dqOpen >= 0) unquote(ev, evCount, dqOpen, WF_DQUOTED);
  if (sqOpen >= 0) unquote(ev, evCount, sqOpen, WF_SQUOTED);
  if (btOpen >= 0) unquote(ev, evCount, btOpen, WF_BACKTICKED);

  state.text = text;
  state.length = n;
  state.units = u;
  state.eventCount = evCount;
  state.flags = flags;
  state.wordCount = ord;
  state.normalizedHash = hex32(n1) + hex32(n2);
  return state;
}

/** "00".."ff": formatting a hash byte by byte is ~20x cheaper than Number#toString(16) on a non-Smi. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => (i + 256).toString(16).slice(1));

/** Eight lower-case hex digits of x's 32 bits. */
function hex32(x: number): string {
  return HEX_BYTE[(x >>> 24) & 255] + HEX_BYTE[(x >>> 16) & 255] + HEX_BYTE[(x >>> 8) & 255] + HEX_BYTE[x & 255];
}

function grow(ev: Int32Array, state: LexState): Int32Array<ArrayBuffer> {
  const next = new Int32Array(ev.length * 2);
  next.set(ev);
  state.events = next;
  return next;
}

/** An unclosed quote must not make what follows look quoted: clear the flag on words since `from`. */
function unquote(ev: Int32Array, evCount: number, from: number, bit: number): void {
  for (let e = evCount - 1; e >= 0; e--) {
    const o = e * EVENT_STRIDE;
    if (ev[o + EV_START] < from) break;
    if (ev[o + EV_KIND] === EV_WORD || ev[o + EV_KIND] === EV_MARK) ev[o + EV_D] &= ~bit;
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

function isHexRun(u: Uint16Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isHex(u[i])) return false;
  return true;
}

/**
 * A word that mixes letters with digits or $ ! | may be leetspeak: hash it with the substitutions,
 * trying "1" as both "i" and "l" ("1gn0r3" → ignore, "ru1e5" → rules).
 */
function lookupLeet(u: Uint16Array, start: number, end: number, len: number, vocab: Vocabulary): number {
  let hi = FNV_OFFSET;
  let hl = FNV_OFFSET;
  let ones = 0;
  for (let i = start; i < end; i++) {
    const c = u[i];
    const k = CHAR_CLASS[c];
    if (k === C_SKIP || k === C_APOS) continue;
    if (c === 0xd835) {
      // mathematical letter (two units): hash the low unit, as the main loop does
      hi = Math.imul(hi ^ u[i + 1], FNV_PRIME);
      hl = Math.imul(hl ^ u[i + 1], FNV_PRIME);
      i++;
      continue;
    }
    let m: number;
    if (c < 128) m = LEET_CODE[c];
    else m = WORD_FOLD[c] & 0xffff || c;
    if (c === 0x31) {
      ones++;
      hi = Math.imul(hi ^ 0x69, FNV_PRIME);
      hl = Math.imul(hl ^ 0x6c, FNV_PRIME);
    } else {
      hi = Math.imul(hi ^ m, FNV_PRIME);
      hl = Math.imul(hl ^ m, FNV_PRIME);
    }
  }
  const id = vocab.lookup(hi, len);
  if (id >= 0 || ones === 0) return id;
  return vocab.lookup(hl, len);
}

/** Read an event field (helper for tests and slow paths; hot loops index `events` directly). */
export function eventField(result: LexResult, index: number, field: number): number {
  return result.events[index * EVENT_STRIDE + field];
}
