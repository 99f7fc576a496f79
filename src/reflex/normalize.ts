/**
 * Text normalisation for detection.
 *
 * Two forms of the same idea live here:
 *  - character tables (`CHAR_CLASS`, `CHAR_MAP`) that the single-pass lexer (lexer.ts) consults inline,
 *    so the hot path never builds a normalised copy of the input;
 *  - `normalizeForDetection(text)`, the explicit string form (NFKC, invisibles removed, homoglyphs
 *    mapped, lower-cased, optionally leetspeak decoded) used by tests, by the slow path for inputs the
 *    tables cannot handle (characters whose NFKC form is several characters, astral-plane letters), and
 *    by anyone who wants to see what the detectors see.
 *
 * Decoding of base64 / hex / URL-encoded segments is in decode.ts.
 */

/**
 * Character classes understood by the lexer. A plain object rather than a `const enum` so that
 * esbuild (tsx, vitest) and tsc compile it the same way; the lexer copies the values into local
 * constants for its hot loop.
 */
export const K = {
  Other: 0, // punctuation and symbols that end a word
  Lower: 1,
  Upper: 2,
  Digit: 3,
  Mapped: 4, // homoglyph, accented or full-width letter: CHAR_MAP gives its ASCII lower-case letter/digit
  Letter: 5, // a letter of some other script (CJK, Arabic…): part of a word, never in the vocabulary
  Nfkc: 6, // a compatibility character whose NFKC form is more than one character (ligatures etc.)
  Skip: 7, // invisible: zero-width, bidi controls, soft hyphen, variation selectors, combining marks
  Space: 8,
  Newline: 9,
  Apos: 10, // ' and ’: inside a word ("don't") it is dropped; at a word edge it is a single quote
  Quote: 11, // " and typographic double quotes
  Backtick: 12,
  At: 13,
  Sentence: 14, // . ! ?
  Leet: 15, // $ | — count as letters only inside a word
  Trigger: 16, // { < # % [ : characters that may start a structural marker ("{{", "<|", "%41")
  HighSurrogate: 17,
} as const;

/** Class of every UTF-16 code unit. */
export const CHAR_CLASS = new Uint8Array(65536);
/** For K.Mapped (and ASCII letters/digits): the lower-case ASCII code it stands for. */
export const CHAR_MAP = new Uint16Array(65536);

/**
 * The lexer's one-load-per-character table: for a code unit that continues a word, the low 16 bits are
 * its folded form (lower-case ASCII for letters and look-alikes, the digit itself, the code unit for
 * other scripts) and the high bits say what kind it is; 0 for everything else.
 */
export const WORD_FOLD = new Int32Array(65536); // Int32, not Uint32: loads stay small integers in optimised code
export const WF_DIGIT = 1 << 16;
export const WF_UPPER = 1 << 17;
export const WF_LOWER = 1 << 18;
export const WF_MAPPED = 1 << 19;
export const WF_NFKC = 1 << 20;
export const WF_OTHER_LETTER = 1 << 21;
export const WF_LETTER = WF_UPPER | WF_LOWER | WF_MAPPED | WF_NFKC | WF_OTHER_LETTER;

/**
 * Cyrillic and Greek letters that render like Latin ones. NFKC leaves these alone (they are
 * different letters), which is exactly why attackers use them.
 */
const HOMOGLYPHS: Record<string, string> = {
  // Cyrillic
  а: "a", в: "b", е: "e", ё: "e", к: "k", м: "m", н: "h", о: "o", р: "p", с: "c", т: "t", у: "y",
  х: "x", ѕ: "s", і: "i", ї: "i", ј: "j", ԁ: "d", ӏ: "l", һ: "h", ԛ: "q", ԝ: "w", ү: "y", ɡ: "g",
  А: "a", В: "b", Е: "e", Ё: "e", К: "k", М: "m", Н: "h", О: "o", Р: "p", С: "c", Т: "t", У: "y",
  Х: "x", Ѕ: "s", І: "i", Ї: "i", Ј: "j", Ԁ: "d", Ӏ: "l", Һ: "h", Ԛ: "q", Ԝ: "w", Ү: "y",
  // Greek
  α: "a", β: "b", ε: "e", η: "n", ι: "i", κ: "k", ν: "v", ο: "o", ρ: "p", τ: "t", υ: "u", χ: "x",
  γ: "y", ω: "w", Α: "a", Β: "b", Ε: "e", Ζ: "z", Η: "h", Ι: "i", Κ: "k", Μ: "m", Ν: "n", Ο: "o",
  Ρ: "p", Τ: "t", Υ: "y", Χ: "x",
  // Latin small capitals and other look-alikes NFKC does not fold
  ᴀ: "a", ʙ: "b", ᴄ: "c", ᴅ: "d", ᴇ: "e", ɢ: "g", ʜ: "h", ɪ: "i", ᴊ: "j", ᴋ: "k", ʟ: "l", ᴍ: "m",
  ɴ: "n", ᴏ: "o", ᴘ: "p", ʀ: "r", ꜱ: "s", ᴛ: "t", ᴜ: "u", ᴠ: "v", ᴡ: "w", ʏ: "y", ᴢ: "z", ı: "i",
};

/** Invisible code units removed before matching (zero-width, joiners, bidi controls, BOM…). */
const INVISIBLE_RANGES: Array<[number, number]> = [
  [0x00ad, 0x00ad], [0x034f, 0x034f], [0x061c, 0x061c], [0x115f, 0x1160], [0x17b4, 0x17b5],
  [0x180b, 0x180e], [0x200b, 0x200f], [0x202a, 0x202e], [0x2060, 0x2064], [0x2066, 0x206f],
  [0x3164, 0x3164], [0xfe00, 0xfe0f], [0xfeff, 0xfeff], [0xffa0, 0xffa0],
  [0x0300, 0x036f], // combining diacritics ("Zalgo" text); the base letter carries the meaning
];

const SPACES = [0x09, 0x0b, 0x0c, 0x20, 0xa0, 0x1680, 0x202f, 0x205f, 0x3000];
const NEWLINES = [0x0a, 0x0d, 0x2028, 0x2029, 0x85];

/** Blocks whose NFKD form we fold into the tables at start-up (a few ms, once per process). */
const FOLD_RANGES: Array<[number, number]> = [
  [0x00a0, 0x024f], [0x0250, 0x02af], [0x0370, 0x03ff], [0x1d00, 0x1dbf], [0x1e00, 0x1eff],
  [0x2070, 0x209f], [0x2100, 0x218f], [0x2460, 0x24ff], [0xff00, 0xffef],
];

function buildTables(): void {
  CHAR_CLASS.fill(K.Other, 0, 128);
  // Any non-ASCII code unit is a letter of some script unless listed below.
  CHAR_CLASS.fill(K.Letter, 128);
  for (let c = 0; c < 128; c++) CHAR_MAP[c] = c;
  for (let c = 0x61; c <= 0x7a; c++) CHAR_CLASS[c] = K.Lower;
  for (let c = 0x41; c <= 0x5a; c++) {
    CHAR_CLASS[c] = K.Upper;
    CHAR_MAP[c] = c | 0x20;
  }
  for (let c = 0x30; c <= 0x39; c++) CHAR_CLASS[c] = K.Digit;
  for (const c of SPACES) CHAR_CLASS[c] = K.Space;
  for (const c of NEWLINES) CHAR_CLASS[c] = K.Newline;
  CHAR_CLASS[0x27] = K.Apos;
  CHAR_CLASS[0x2019] = K.Apos;
  CHAR_CLASS[0x2018] = K.Apos;
  CHAR_CLASS[0x201a] = K.Apos;
  CHAR_CLASS[0x2032] = K.Apos;
  for (const c of [0x22, 0x201c, 0x201d, 0x201e, 0x201f, 0xab, 0xbb, 0x2033, 0xff02]) CHAR_CLASS[c] = K.Quote;
  CHAR_CLASS[0x60] = K.Backtick;
  CHAR_CLASS[0x40] = K.At;
  for (const c of [0x2e, 0x21, 0x3f, 0x3002, 0xff01, 0xff1f]) CHAR_CLASS[c] = K.Sentence;
  CHAR_CLASS[0x24] = K.Leet;
  CHAR_CLASS[0x7c] = K.Leet;
  for (const c of [0x7b, 0x3c, 0x23, 0x25, 0x5b]) CHAR_CLASS[c] = K.Trigger;
  // General punctuation, arrows, box drawing, emoji-ish symbols: word breakers, not letters.
  for (let c = 0x2010; c <= 0x2027; c++) if (CHAR_CLASS[c] === K.Letter) CHAR_CLASS[c] = K.Other;
  for (let c = 0x2030; c <= 0x205e; c++) if (CHAR_CLASS[c] === K.Letter) CHAR_CLASS[c] = K.Other;
  for (let c = 0x2190; c <= 0x2bff; c++) CHAR_CLASS[c] = K.Other;
  for (let c = 0x3000; c <= 0x303f; c++) if (CHAR_CLASS[c] === K.Letter) CHAR_CLASS[c] = K.Other;
  for (let c = 0xa1; c <= 0xbf; c++) CHAR_CLASS[c] = K.Other;
  CHAR_CLASS[0xd7] = K.Other;
  CHAR_CLASS[0xf7] = K.Other;
  for (let c = 0x2000; c <= 0x200a; c++) CHAR_CLASS[c] = K.Space;

  for (const [a, b] of FOLD_RANGES) {
    for (let c = a; c <= b; c++) {
      const cls = CHAR_CLASS[c];
      if (cls === K.Space || cls === K.Newline || cls === K.Quote || cls === K.Apos || cls === K.Sentence) continue;
      const s = String.fromCharCode(c);
      const folded = s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
      if (folded === s) continue;
      if (folded.length === 1 && /[A-Za-z0-9]/.test(folded)) {
        CHAR_CLASS[c] = K.Mapped;
        CHAR_MAP[c] = folded.toLowerCase().charCodeAt(0);
      } else if (folded.length === 1 && folded.charCodeAt(0) < 128) {
        // Full-width punctuation and the like: treat as its ASCII counterpart's class.
        const ascii = folded.charCodeAt(0);
        CHAR_CLASS[c] = CHAR_CLASS[ascii];
        CHAR_MAP[c] = ascii;
      } else if (/[\p{L}\p{N}]/u.test(s)) {
        CHAR_CLASS[c] = K.Nfkc;
      }
    }
  }
  for (const [ch, to] of Object.entries(HOMOGLYPHS)) {
    const c = ch.charCodeAt(0);
    CHAR_CLASS[c] = K.Mapped;
    CHAR_MAP[c] = to.charCodeAt(0);
  }
  for (const [a, b] of INVISIBLE_RANGES) for (let c = a; c <= b; c++) CHAR_CLASS[c] = K.Skip;
  for (let c = 0xd800; c <= 0xdbff; c++) CHAR_CLASS[c] = K.HighSurrogate;
  for (let c = 0xdc00; c <= 0xdfff; c++) CHAR_CLASS[c] = K.Skip; // low surrogates: consumed with their high half
  for (let c = 0; c < 65536; c++) {
    const k = CHAR_CLASS[c];
    if (k === K.Lower) WORD_FOLD[c] = c | WF_LOWER;
    else if (k === K.Upper) WORD_FOLD[c] = CHAR_MAP[c] | WF_UPPER;
    else if (k === K.Digit) WORD_FOLD[c] = c | WF_DIGIT;
    else if (k === K.Mapped) WORD_FOLD[c] = CHAR_MAP[c] | WF_MAPPED;
    else if (k === K.Nfkc) WORD_FOLD[c] = c | WF_NFKC;
    else if (k === K.Letter) {
      // Case-fold other scripts too ("И" and "и"), when the lower case is one code unit.
      const lower = String.fromCharCode(c).toLowerCase();
      WORD_FOLD[c] = (lower.length === 1 ? lower.charCodeAt(0) : c) | WF_OTHER_LETTER;
    }
  }
}
buildTables();

/** Leetspeak digit/symbol → letter. "1" is ambiguous (i or l); callers try both where it matters. */
export const LEET: Readonly<Record<string, string>> = {
  "0": "o", "1": "i", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b", "9": "g",
  "@": "a", $: "s", "!": "i", "|": "l",
};
export const LEET_CODE = new Uint16Array(128);
for (let c = 0; c < 128; c++) LEET_CODE[c] = CHAR_MAP[c];
for (const [k, v] of Object.entries(LEET)) LEET_CODE[k.charCodeAt(0)] = v.charCodeAt(0);

/**
 * Unicode "tag" characters (U+E0000–U+E007F) are invisible and map one-to-one onto ASCII: a known way
 * to smuggle instructions past a human reviewer. They are surrogate pairs starting with 0xDB40.
 */
export const TAG_HIGH_SURROGATE = 0xdb40;
/** High surrogate of the Mathematical Alphanumeric Symbols block (𝐢𝐠𝐧𝐨𝐫𝐞), which NFKC folds to ASCII. */
export const MATH_HIGH_SURROGATE = 0xd835;

export interface NormalizeOptions {
  /** Decode leetspeak inside words that mix letters with digits or $ @ ! | (default true). */
  leet?: boolean;
}

/**
 * The explicit normalised form: NFKC, invisible characters removed, tag characters decoded, homoglyphs
 * mapped to ASCII, lower-cased, whitespace runs collapsed, leetspeak decoded inside mixed words.
 * Output offsets do not correspond to the input's.
 */
export function normalizeForDetection(text: string, options: NormalizeOptions = {}): string {
  const leet = options.leet ?? true;
  const nfkc = text.normalize("NFKC");
  let out = "";
  let word = "";
  let wordMixed = false;
  let wordLetters = 0;
  const flush = () => {
    if (word) out += leet && wordMixed && wordLetters > 0 ? decodeLeetWord(word) : word;
    word = "";
    wordMixed = false;
    wordLetters = 0;
  };
  let lastSpace = true;
  for (let i = 0; i < nfkc.length; i++) {
    const c = nfkc.charCodeAt(i);
    if (c === TAG_HIGH_SURROGATE && i + 1 < nfkc.length) {
      const lo = nfkc.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdc7f) {
        const ascii = lo - 0xdc00;
        i++;
        if (ascii >= 0x20 && ascii < 0x7f) {
          word += String.fromCharCode(ascii).toLowerCase();
          lastSpace = false;
        }
        continue;
      }
    }
    const k = CHAR_CLASS[c];
    if (k === K.Skip) continue;
    if (k === K.Lower || k === K.Upper || k === K.Mapped) {
      word += String.fromCharCode(CHAR_MAP[c]);
      wordLetters++;
      lastSpace = false;
      continue;
    }
    if (k === K.Digit) {
      word += String.fromCharCode(c);
      wordMixed = true;
      lastSpace = false;
      continue;
    }
    const next = i + 1 < nfkc.length ? CHAR_CLASS[nfkc.charCodeAt(i + 1)] : K.Other;
    const nextIsWord = next === K.Lower || next === K.Upper || next === K.Digit || next === K.Mapped;
    if (k === K.Apos && word && nextIsWord) continue; // don't → dont
    if ((k === K.Leet || c === 0x40 || c === 0x21) && word && nextIsWord) {
      word += String.fromCharCode(c);
      wordMixed = true;
      lastSpace = false;
      continue;
    }
    if (k === K.Letter || k === K.Nfkc) {
      word += nfkc[i].toLowerCase();
      lastSpace = false;
      continue;
    }
    flush();
    if (k === K.Space || k === K.Newline) {
      if (!lastSpace) out += " ";
      lastSpace = true;
    } else {
      out += nfkc[i];
      lastSpace = false;
    }
  }
  flush();
  return out.trim();
}

/** Leetspeak-decode one word ("1gn0r3" → "ignore"). Digits-only words are left alone by callers. */
export function decodeLeetWord(word: string, oneAs: "i" | "l" = "i"): string {
  let out = "";
  for (const ch of word) {
    if (ch === "1") out += oneAs;
    else out += LEET[ch] ?? ch;
  }
  return out;
}
