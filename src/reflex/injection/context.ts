/**
 * Context that makes a matched phrase less likely to be an attack: it is quoted, negated ("never reveal
 * your system prompt"), about the speaker's own earlier words ("ignore my previous instructions"),
 * mentioned rather than used ("'ignore previous instructions' attacks"), or part of an academic or
 * defensive discussion. Each lowers the severity by some steps; they add up.
 *
 * These checks read small windows of raw text around a match, so they cost nothing for text without
 * matches.
 */
import type { ContextAdjustment } from "./types.js";

// Word boundaries that know about non-ASCII letters ("уour" with a Cyrillic у is one word, not "our").
const B = "(?<![\\p{L}\\p{N}_])";
const E = "(?![\\p{L}\\p{N}_])";
/** Right boundary for topic words ("evil.example" is a host name, not the word "example"; see TOPIC_LEFT). */
const ET = "(?![\\p{L}\\p{N}_/@-])";
const words = (alt: string, flags = "iu", b = B, e = E) => new RegExp(`${b}(?:${alt})${e}`, flags);

const NEGATION = new RegExp(
  `${B}(?:not|never|no longer need to|don['’]?t|doesn['’]?t|didn['’]?t|won['’]?t|cannot|can['’]?t|shouldn['’]?t|mustn['’]?t|refuse to|avoid|nobody should|stop people from)${E}(?![\\s\\S]*${B}mind${E})[^.!?\\n,;:]{0,32}$`,
  "iu",
);
const SELF = words("my|our|i|we|me|mine|myself|i['’]ve|i['’]d|i['’]m");
const MENTION_AFTER = new RegExp(
  `^(?:\\s*(?:,|and|or|\\/)\\s*[^\\s]{1,24}){0,3}[\\s"'“”‘’\`)\\]*_-]{0,4}(?:attacks?|injections?|payloads?|techniques?|examples?|strings?|phrases?|patterns?|style|jailbreaks?|exploits?|vectors?|attempts?|tricks?|prompts|type|kind|category|trope|meme|variants?|tokens?|markers?|tags?|delimiters?|format|syntax|lookups?|probes?)${E}`,
  "iu",
);
const MENTION_BEFORE = new RegExp(
  `${B}(?:like|called|named|phrase|phrases|string|strings|says|said|saying|containing|contains|contain|include|includes|including|such as|e\\.g\\.?|i\\.e\\.?|for example|for instance|known as|as in|typed|writes|wrote|write|uses?|using|tokens?|tags?|markers?)[\\s"'“‘\`(]{0,4}$`,
  "iu",
);

// Topic words: matched word-first (a leading look-behind would be tried at every position); the left
// boundary is checked by hand in hasTopicWord.
const topic = (alt: string) => new RegExp(`(?:${alt})${ET}`, "giu");
const ACADEMIC_STRONG = topic(
  "prompt[- ]injections?|injections?|attackers?|mitigat(?:e|es|ed|ion|ions|ing)|defen[cs]es?|defend(?:ing|s)?|owasp|llm01|classifiers?|detect(?:ion|or|ors|s|ing|ed)?|vulnerabilit(?:y|ies)|adversarial|red[- ]?team(?:ing|ers)?|taxonomy|sanitiz(?:e|ation|ing)|researchers?|guardrails?|(?:should|must) refuse|refuse (?:if|when)|(?:filters?|classifiers?|detectors?|guardrails?|firewalls?|waf|moderation) (?:caught|flagged|blocked|detected|stopped)|(?:tries|try|attempts?) to (?:make|get|trick|force)|jailbreak(?:s|ing)? (?:attempts?|prompts?|techniques?|research|attacks?)|security (?:team|training|awareness|research|review|filter|classifier|layer|guide)",
);
const ACADEMIC_WEAK = topic(
  "attacks?|research|paper|study|article|blog|security|examples?|techniques?|known|common|typical|malicious|threats?|exploits?|mean(?:s|ing)?|discuss(?:es|ed|ing)?|course|lecture|awareness|phishing|tries to|try to|attempts? to|someone|unit tests?|test cases?|blocked|flagged",
);

/** Every ACADEMIC_* alternative contains one of these fragments. */
const ACADEMIC_QUICK =
  /inject|attack|mitigat|defen|owasp|llm01|classif|detect|vulnerab|adversar|red.?team|taxonom|saniti|research|guardrail|jailbreak|security|refuse|filter|firewall|waf|moderat|paper|study|article|blog|exampl|techniq|known|common|typical|malicious|threat|exploit|mean|discuss|course|lecture|awareness|phishing|tries to|try to|attempt|someone|unit test|test case|blocked|flagged/i;

function sentenceBefore(text: string, start: number, max: number): string {
  const from = Math.max(0, start - max);
  const s = text.slice(from, start);
  const cut = Math.max(s.lastIndexOf(". "), s.lastIndexOf("! "), s.lastIndexOf("? "), s.lastIndexOf("\n"));
  return cut >= 0 ? s.slice(cut + 1) : s;
}

function sentenceAfter(text: string, end: number, max: number): string {
  const s = text.slice(end, end + max);
  let cut = s.length;
  for (const sep of [". ", "! ", "? ", "\n"]) {
    const i = s.indexOf(sep);
    if (i >= 0 && i < cut) cut = i + 1;
  }
  return s.slice(0, cut);
}

const QUOTES = "\"'“”‘’`«»";

function lastQuoteBefore(text: string, pos: number): number {
  for (let i = pos - 1; i >= 0 && pos - i <= 400; i--) if (QUOTES.includes(text[i])) return i;
  return -1;
}

function firstQuoteAfter(text: string, pos: number): number {
  for (let i = pos; i < text.length && i - pos <= 400; i++) if (QUOTES.includes(text[i])) return i;
  return -1;
}

const TOPIC_LEFT = /[\p{L}\p{N}_./@-]/u;

/** First topic word of `re` in `s` whose left neighbour is not part of a word, host or path. */
function topicWord(re: RegExp, s: string): string | null {
  if (!re.global) throw new Error("topicWord needs a global regex"); // exec would never advance
  re.lastIndex = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    if (m.index === 0 || !TOPIC_LEFT.test(s[m.index - 1])) return m[0];
  }
  return null;
}

/** Distinct academic/defensive words in the whole text (computed once per text, only when something matched). */
export function academicDocument(text: string): boolean {
  if (!ACADEMIC_QUICK.test(text)) return false;
  const seen = new Set<string>();
  for (const re of [ACADEMIC_STRONG, ACADEMIC_WEAK]) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null && seen.size < 3; m = re.exec(text)) {
      if (m.index === 0 || !TOPIC_LEFT.test(text[m.index - 1])) seen.add(m[0].toLowerCase());
    }
  }
  return seen.size >= 3;
}

export interface ContextInput {
  text: string;
  start: number;
  end: number;
  quoted: boolean;
  selfLowers: boolean;
  negationInside: boolean;
  academicDoc: boolean;
}

export interface ContextResult {
  steps: number;
  adjustments: ContextAdjustment[];
}

export function assessContext(c: ContextInput): ContextResult {
  const adjustments: ContextAdjustment[] = [];
  let steps = 0;
  const before = sentenceBefore(c.text, c.start, 160);
  const after = sentenceAfter(c.text, c.end, 160);
  if (c.quoted) {
    steps += 1;
    adjustments.push("quoted");
  }
  if (!c.negationInside && NEGATION.test(before.slice(-40))) {
    steps += 2;
    adjustments.push("negated");
  }
  if (c.selfLowers && SELF.test(c.text.slice(c.start, c.end))) {
    steps += 3;
    adjustments.push("self_reference");
  }
  // For a quoted match, the cue sits outside the quotes: "the string 'ignore … prompt' is an attack".
  let mentionBefore = before;
  let mentionAfter = after;
  if (c.quoted) {
    const open = lastQuoteBefore(c.text, c.start);
    const close = firstQuoteAfter(c.text, c.end);
    if (open >= 0) mentionBefore = sentenceBefore(c.text, open, 160);
    if (close >= 0) mentionAfter = sentenceAfter(c.text, close + 1, 160);
  }
  if (MENTION_AFTER.test(mentionAfter) || MENTION_AFTER.test(after) || MENTION_BEFORE.test(mentionBefore.slice(-40)) || MENTION_BEFORE.test(before.slice(-40))) {
    steps += 2;
    adjustments.push("mention");
  }
  const sentence = before + " " + after;
  // The precise regexes check word boundaries at every position; a plain scan rules most sentences out.
  const maybeAcademic = ACADEMIC_QUICK.test(sentence);
  if (!maybeAcademic) {
    // nothing to add
  } else if (topicWord(ACADEMIC_STRONG, sentence) !== null) {
    steps += 2;
    adjustments.push("academic_sentence");
  } else if (topicWord(ACADEMIC_WEAK, sentence) !== null) {
    steps += 1;
    adjustments.push("academic_sentence");
  }
  ACADEMIC_STRONG.lastIndex = 0;
  ACADEMIC_WEAK.lastIndex = 0;
  if (c.academicDoc) {
    steps += 1;
    adjustments.push("academic_document");
  }
  return { steps, adjustments };
}
