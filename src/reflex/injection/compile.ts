/**
 * Compiles the rule data (rules.ts, structural.ts) against a vocabulary into lookup tables the
 * analyser can use without strings: per vocabulary id, which phrase rules start there and which
 * structural rules are anchored there; per slot, a membership table.
 */
import { CATEGORY_SEVERITY, type InjectionCategory } from "./types.js";
import { CONCEPTS, PHRASE_RULES, type PhraseRule } from "./rules.js";
import { STRUCTURAL_RULES, STRUCTURAL_WORDS, type StructuralRule } from "./structural.js";
import { foldWord, type Vocabulary } from "../vocab.js";
import type { Severity } from "../severity.js";

export interface Slot {
  /** member[vocabularyId] === 1 when the word fills this slot. */
  member: Uint8Array;
  /** Up to this many other words may precede this slot (after the previous one). */
  gap: number;
  /** The word must be written in capitals. */
  allCaps: boolean;
  /** After this slot, the next non-space character must be ':'. */
  colonAfter: boolean;
}

export interface CompiledPhraseRule {
  id: string;
  category: InjectionCategory;
  severity: Severity;
  slots: Slot[];
  selfLowers: boolean;
  negationInside: boolean;
  unless: RegExp | null;
  unlessAfter: RegExp | null;
}

export interface CompiledRules {
  phrase: CompiledPhraseRule[];
  /** Per vocabulary id: indices into `phrase` of rules whose first slot the word fills. */
  phraseStarts: (number[] | undefined)[];
  /**
   * Per vocabulary id that starts a rule: how many words further on (ordinal difference) the second
   * word of any of those rules may be; -1 when a one-word rule starts there. Lets the analyser skip a
   * start word whose next vocabulary word is too far or in another sentence without trying each rule.
   */
  phraseStartReach: Int32Array;
  /**
   * Per vocabulary id that starts only rules of two words or more: second[id] === 1 when the word can
   * fill the second slot of one of them (one table per distinct set of rules, shared by its start
   * words). Lets the analyser skip a start word when no word within reach can continue any of its
   * rules — in typical text, every start word — instead of trying each rule.
   */
  phraseSecond: (Uint8Array | undefined)[];
  /** Per vocabulary id: structural rules anchored on the word. */
  structuralByWord: (StructuralRule[] | undefined)[];
  /** Per lexer MARK_* value: structural rules anchored on that marker. */
  structuralByMark: StructuralRule[][];
}

interface ParsedSlot {
  words: string[];
  gap: number;
  allCaps: boolean;
  colonAfter: boolean;
}

function conceptWords(name: string): string[] {
  const words = CONCEPTS[name];
  if (words === undefined) throw new Error(`unknown concept @${name}`);
  return words.split(/\s+/).filter(Boolean);
}

function expandAlternatives(spec: string): string[] {
  return spec.split("|").flatMap((alt) => (alt.startsWith("@") ? conceptWords(alt.slice(1)) : [alt])).map(foldWord);
}

export function parsePattern(pattern: string): ParsedSlot[] {
  const slots: ParsedSlot[] = [];
  let gap = 0;
  for (const tok of pattern.trim().split(/\s+/)) {
    if (tok.startsWith("~")) {
      gap = Number(tok.slice(1));
      if (!Number.isInteger(gap) || gap < 0) throw new Error(`bad gap '${tok}' in '${pattern}'`);
      continue;
    }
    if (tok === ":") {
      if (slots.length === 0) throw new Error(`':' cannot start '${pattern}'`);
      slots[slots.length - 1].colonAfter = true;
      continue;
    }
    const allCaps = tok.startsWith("=");
    slots.push({ words: expandAlternatives(allCaps ? tok.slice(1) : tok), gap, allCaps, colonAfter: false });
    gap = 0;
  }
  return slots;
}

/** Every word phrase and structural rules need in the vocabulary. */
export function injectionVocabulary(): string[] {
  const words = new Set<string>(STRUCTURAL_WORDS.map(foldWord));
  for (const rule of PHRASE_RULES) for (const slot of parsePattern(rule.pattern)) for (const w of slot.words) words.add(w);
  return [...words];
}

/** "@concept a b" → a whole-word, case-insensitive regex over those words. */
function wordListRegex(spec: string | undefined, anchored: boolean): RegExp | null {
  if (!spec) return null;
  const words = spec.split(/\s+/).flatMap((w) => (w.startsWith("@") ? conceptWords(w.slice(1)) : [w]));
  const alt = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  return new RegExp(anchored ? `^[\\s"'“”‘’\`,:;-]{0,4}(?:${alt})\\b` : `\\b(?:${alt})\\b`, "i");
}

export function compileRules(vocab: Vocabulary): CompiledRules {
  const size = Math.max(1, vocab.size);
  const phraseStarts: (number[] | undefined)[] = new Array(size);
  const structuralByWord: (StructuralRule[] | undefined)[] = new Array(size);
  const structuralByMark: StructuralRule[][] = Array.from({ length: 16 }, () => []);
  const phraseStartReach = new Int32Array(size);
  const idOf = (w: string): number => {
    const id = vocab.id(w);
    if (id < 0) throw new Error(`injection word '${w}' missing from the vocabulary`);
    return id;
  };

  const phrase = PHRASE_RULES.map((rule: PhraseRule, index): CompiledPhraseRule => {
    const slots = parsePattern(rule.pattern).map((p): Slot => {
      const member = new Uint8Array(size);
      for (const w of p.words) member[idOf(w)] = 1;
      return { member, gap: p.gap, allCaps: p.allCaps, colonAfter: p.colonAfter };
    });
    const reach = slots.length === 1 ? -1 : slots[1].gap + 1;
    for (let id = 0; id < size; id++) {
      if (!slots[0].member[id]) continue;
      (phraseStarts[id] ??= []).push(index);
      if (phraseStartReach[id] >= 0) phraseStartReach[id] = reach < 0 ? -1 : Math.max(phraseStartReach[id], reach);
    }
    return {
      id: rule.id,
      category: rule.category,
      severity: CATEGORY_SEVERITY[rule.category],
      slots,
      selfLowers: rule.selfLowers ?? false,
      negationInside: rule.negationInside ?? false,
      unless: wordListRegex(rule.unless, false),
      unlessAfter: wordListRegex(rule.unlessAfter, true),
    };
  });

  const phraseSecond = secondWordTables(phrase, phraseStarts, phraseStartReach, size);

  for (const rule of STRUCTURAL_RULES) {
    if (!rule.re.sticky) throw new Error(`structural rule ${rule.id} must be sticky`);
    for (const w of rule.words ?? []) (structuralByWord[idOf(foldWord(w))] ??= []).push(rule);
    for (const m of rule.marks ?? []) structuralByMark[m].push(rule);
  }
  return { phrase, phraseStarts, phraseStartReach, phraseSecond, structuralByWord, structuralByMark };
}

/** See CompiledRules.phraseSecond. */
function secondWordTables(
  phrase: readonly CompiledPhraseRule[], phraseStarts: readonly (number[] | undefined)[], reach: Int32Array, size: number,
): (Uint8Array | undefined)[] {
  const tables: (Uint8Array | undefined)[] = new Array(size);
  const byRules = new Map<string, Uint8Array>();
  for (let id = 0; id < size; id++) {
    const list = phraseStarts[id];
    if (list === undefined || reach[id] < 0) continue;
    const key = list.join(",");
    let second = byRules.get(key);
    if (second === undefined) {
      second = new Uint8Array(size);
      for (const ri of list) {
        const member = phrase[ri].slots[1].member;
        for (let w = 0; w < size; w++) second[w] |= member[w];
      }
      byRules.set(key, second);
    }
    tables[id] = second;
  }
  return tables;
}
