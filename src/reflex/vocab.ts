/**
 * The vocabulary: every word any detector cares about (injection trigger words, PII context words,
 * secret prefixes), each given a small integer id. The lexer hashes each word of the input as it reads
 * it and looks the hash up here, so recognising a word costs one table probe and no substring.
 *
 * Words are identified by (32-bit FNV-1a hash of the folded lower-case word, length). Two different
 * words colliding on both is possible in theory (≈ vocabulary size / 2^32 per word read); the result
 * would be a spurious context word, never a missed one, so the table does not store strings to verify.
 */
import * as norm from "./normalize.js";

const CHAR_CLASS = norm.CHAR_CLASS;
const WORD_FOLD = norm.WORD_FOLD;
const K = norm.K;

/** FNV-1a offset basis as a signed 32-bit integer (keeps hashes in small-integer representation). */
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

/** Longest word the lexer will look up; longer runs are never vocabulary words. */
export const MAX_WORD_LENGTH = 24;

export interface Vocabulary {
  readonly size: number;
  /** Id of a word (folded the way the lexer folds input), or -1. */
  id(word: string): number;
  word(id: number): string;
  /** Hot-path lookup by (hash, length); -1 when absent. */
  lookup(hash: number, length: number): number;
  /** The open-addressing table itself, for a caller that inlines `lookup` in its own loop. */
  readonly table: VocabularyTable;
}

export interface VocabularyTable {
  readonly keys: Int32Array;
  readonly lens: Uint8Array;
  /** id + 1; 0 marks an empty slot. */
  readonly ids: Int32Array;
  readonly mask: number;
}

/** Fold a vocabulary word the way the lexer folds input: lower-case ASCII, accents removed, apostrophes dropped. */
export function foldWord(word: string): string {
  let out = "";
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    const k = CHAR_CLASS[c];
    if (k === K.Apos || k === K.Skip) continue;
    const f = WORD_FOLD[c] & 0xffff;
    out += String.fromCharCode(f !== 0 ? f : c);
  }
  return out;
}

export function hashWord(folded: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < folded.length; i++) h = Math.imul(h ^ folded.charCodeAt(i), FNV_PRIME);
  return h;
}

class HashVocabulary implements Vocabulary {
  private readonly keys: Int32Array;
  private readonly lens: Uint8Array;
  private readonly ids: Int32Array; // id + 1; 0 marks an empty slot
  private readonly mask: number;
  private readonly words: string[] = [];
  private readonly byWord = new Map<string, number>();

  constructor(words: Iterable<string>) {
    const unique = new Set<string>();
    for (const w of words) {
      const f = foldWord(w);
      if (f.length > 0 && f.length <= MAX_WORD_LENGTH) unique.add(f);
    }
    let size = 1024;
    while (size < unique.size * 4) size <<= 1; // load factor ≤ 0.25: most misses end on the first probe
    this.keys = new Int32Array(size);
    this.lens = new Uint8Array(size);
    this.ids = new Int32Array(size);
    this.mask = size - 1;
    for (const w of unique) {
      const id = this.words.length;
      this.words.push(w);
      this.byWord.set(w, id);
      const h = hashWord(w);
      let slot = (h ^ (h >>> 15)) & this.mask;
      while (this.ids[slot] !== 0) slot = (slot + 1) & this.mask;
      this.keys[slot] = h;
      this.lens[slot] = w.length;
      this.ids[slot] = id + 1;
    }
  }

  get table(): VocabularyTable {
    return { keys: this.keys, lens: this.lens, ids: this.ids, mask: this.mask };
  }

  get size(): number {
    return this.words.length;
  }

  id(word: string): number {
    return this.byWord.get(foldWord(word)) ?? -1;
  }

  word(id: number): string {
    return this.words[id] ?? "";
  }

  lookup(hash: number, length: number): number {
    const mask = this.mask;
    let slot = (hash ^ (hash >>> 15)) & mask;
    for (;;) {
      const id = this.ids[slot];
      if (id === 0) return -1;
      if (this.keys[slot] === hash && this.lens[slot] === length) return id - 1;
      slot = (slot + 1) & mask;
    }
  }
}

export function buildVocabulary(words: Iterable<string>): Vocabulary {
  return new HashVocabulary(words);
}
