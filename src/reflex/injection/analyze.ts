/**
 * The injection analyser: matches phrase rules over the vocabulary words the lexer found, tries
 * structural rules at their anchors, weighs context, and — for text that was disguised — scans the
 * NFKC-normalised text and decoded base64 / hex / URL-encoded / tag-character segments as well.
 */
import * as lx from "../lexer.js";
import type { Lexer, LexResult } from "../lexer.js";
import { lowerSeverity, severityRank, type Severity } from "../severity.js";
import { decodeBase64At, decodeHexAt, decodeUnicodeTags, decodeUrlAt, type DecodedSegment } from "../decode.js";
import type { CompiledPhraseRule, CompiledRules } from "./compile.js";
import { academicDocument, assessContext } from "./context.js";
import type { StructuralRule } from "./structural.js";
import { CATEGORY_SEVERITY, type InjectionDetectorOptions, type InjectionMatch, type Obfuscation } from "./types.js";

const STRIDE = lx.EVENT_STRIDE;
const EV_WORD = lx.EV_WORD;
const EV_MARK = lx.EV_MARK;
const EV_LONG = lx.EV_LONG;
const EV_PCT = lx.EV_PCT;
const WF_ALLCAPS = lx.WF_ALLCAPS;
const WF_LEET = lx.WF_LEET;
const WF_QUOTED = lx.WF_QUOTED;

/** Bounds on work and output for hostile input. */
const MAX_MATCHES = 64;
const MAX_PER_RULE = 2;
const MAX_DECODED_SEGMENTS = 16;
const MAX_STRUCTURAL_ATTEMPTS = 512;
/** A rule whose matches keep being cancelled by `unless` context stops being tried (bounded work). */
const MAX_CANCELLED = 32;

interface RawMatch {
  rule: CompiledPhraseRule | null;
  structural: StructuralRule | null;
  start: number;
  end: number;
  quoted: boolean;
  /** Inside a backtick code span. */
  code: boolean;
  leet: boolean;
  indicators: string[];
}

/**
 * Scripts written without spaces cannot be matched word by word; a few phrase patterns cover the
 * common attacks in Chinese and Japanese. Run only when the lexer saw such letters.
 */
const OTHER_SCRIPT_RULES: ReadonlyArray<{ id: string; category: InjectionMatch["category"]; re: RegExp }> = [
  { id: "cjk-ignore-instructions", category: "ignore_previous_instructions", re: /(?:忽略|无视|無視|忽视|忘记|忘掉|不要理会)[^。！？\n]{0,12}(?:指令|指示|说明|規則|规则|提示|命令|設定|设定)/g },
  { id: "cjk-reveal-prompt", category: "direct_prompt_extraction", re: /(?:系统|系統|システム)(?:提示|プロンプト)/g },
];

export interface InjectionAnalyzer {
  /** May re-lex decoded text with `lexer`: the LexResult passed in is invalid afterwards. */
  analyze(lex: LexResult): InjectionMatch[];
}

export function createInjectionAnalyzer(lexer: Lexer, rules: CompiledRules, options: InjectionDetectorOptions = {}): InjectionAnalyzer {
  const vocab = lexer.vocabulary;
  const decodeSegments = options.decodeSegments ?? true;
  const maxDecoded = options.maxDecodedLength ?? 4096;
  // The vocabulary words of the current text, compacted out of the event stream (reused buffers).
  let hVocab = new Int32Array(256);
  let hOrd = new Int32Array(256);
  let hSeg = new Int32Array(256);
  let hFlags = new Int32Array(256);
  let hEvent = new Int32Array(256);
  const path = new Int32Array(16); // hits of the match being built, by slot
  // Per-call counters without a per-call reset: an entry counts only when its stamp is this call's.
  let call = 0;
  const perRule = new Uint16Array(rules.phrase.length);
  const cancelled = new Uint16Array(rules.phrase.length);
  const phraseStamp = new Int32Array(rules.phrase.length);
  const structuralIndex = new Map<StructuralRule, number>();
  for (const list of [...rules.structuralByWord, ...rules.structuralByMark]) {
    for (const r of list ?? []) if (!structuralIndex.has(r)) structuralIndex.set(r, structuralIndex.size);
  }
  const attempts = new Uint16Array(structuralIndex.size);
  const attemptStamp = new Int32Array(structuralIndex.size);

  /** Depth-first: can slots [slot..] be filled after hit `prev`? Fills `path`. */
  function matchFrom(nHits: number, rule: CompiledPhraseRule, slot: number, prev: number, text: string, ev: Int32Array): boolean {
    const slots = rule.slots;
    if (slots[slot - 1].colonAfter && !colonAfter(text, ev[hEvent[prev] * STRIDE + 2])) return false;
    if (slot === slots.length) return true;
    const s = slots[slot];
    const member = s.member;
    const maxOrd = hOrd[prev] + s.gap + 1;
    const seg = hSeg[prev];
    for (let q = prev + 1; q < nHits; q++) {
      if (hOrd[q] > maxOrd || hSeg[q] !== seg) return false;
      if (member[hVocab[q]] === 1 && (!s.allCaps || (hFlags[q] & WF_ALLCAPS) !== 0)) {
        path[slot] = q;
        if (matchFrom(nHits, rule, slot + 1, q, text, ev)) return true;
      }
    }
    return false;
  }

  /**
   * Is there a hit after `i`, in the same segment and at most `reach` words further on, that `second`
   * contains? When not, no rule starting at `i` can fill its second slot (matchFrom would fail each).
   */
  function secondWithin(nHits: number, i: number, reach: number, second: Uint8Array): boolean {
    const maxOrd = hOrd[i] + reach;
    const seg = hSeg[i];
    for (let q = i + 1; q < nHits && hSeg[q] === seg && hOrd[q] <= maxOrd; q++) if (second[hVocab[q]] === 1) return true;
    return false;
  }

  function collect(lex: LexResult): { raw: RawMatch[]; segments: DecodedSegment[] } {
    const ev = lex.events;
    const count = lex.eventCount;
    const text = lex.text;
    const raw: RawMatch[] = [];
    const segments: DecodedSegment[] = [];
    call = (call + 1) | 0;
    if (hVocab.length < count) {
      const size = Math.max(count, hVocab.length * 2);
      hVocab = new Int32Array(size);
      hOrd = new Int32Array(size);
      hSeg = new Int32Array(size);
      hFlags = new Int32Array(size);
      hEvent = new Int32Array(size);
    }
    let nHits = 0;
    for (let e = 0; e < count; e++) {
      const o = e * STRIDE;
      if (ev[o] !== EV_WORD) continue;
      hVocab[nHits] = ev[o + 3];
      hOrd[nHits] = ev[o + 4];
      hSeg[nHits] = ev[o + 5];
      hFlags[nHits] = ev[o + 6];
      hEvent[nHits] = e;
      nHits++;
    }

    // Phrase rules, started from each word that can begin one.
    const starts = rules.phraseStarts;
    const startReach = rules.phraseStartReach;
    const startSecond = rules.phraseSecond;
    for (let i = 0; i < nHits && raw.length < MAX_MATCHES; i++) {
      const list = starts[hVocab[i]];
      if (list === undefined) continue;
      // Every rule starting here needs a second word within `reach` words in the same sentence: when
      // none of the vocabulary words there can be one, none of the rules can match.
      const reach = startReach[hVocab[i]];
      if (reach >= 0 && !secondWithin(nHits, i, reach, startSecond[hVocab[i]] as Uint8Array)) continue;
      for (let li = 0; li < list.length; li++) {
        const ri = list[li];
        const rule = rules.phrase[ri];
        if (phraseStamp[ri] !== call) {
          phraseStamp[ri] = call;
          perRule[ri] = 0;
          cancelled[ri] = 0;
        }
        if (perRule[ri] >= MAX_PER_RULE || cancelled[ri] >= MAX_CANCELLED) continue;
        if (rule.slots[0].allCaps && (hFlags[i] & WF_ALLCAPS) === 0) continue;
        path[0] = i;
        if (!matchFrom(nHits, rule, 1, i, text, ev)) continue;
        const depth = rule.slots.length;
        const start = ev[hEvent[i] * STRIDE + 1];
        const end = ev[hEvent[path[depth - 1]] * STRIDE + 2];
        if (
          (rule.unless !== null && rule.unless.test(sentenceAround(text, start, end))) ||
          (rule.unlessAfter !== null && rule.unlessAfter.test(text.slice(end, end + 24)))
        ) {
          cancelled[ri]++;
          continue;
        }
        let leet = false;
        let quotedAll = WF_QUOTED;
        const indicators: string[] = [];
        for (let k = 0; k < depth; k++) {
          const f = hFlags[path[k]];
          if (f & WF_LEET) leet = true;
          quotedAll &= f;
          indicators.push(vocab.word(hVocab[path[k]]));
        }
        perRule[ri]++;
        raw.push({
          rule, structural: null, start, end, quoted: quotedAll !== 0, code: (quotedAll & lx.WF_BACKTICKED) !== 0, leet, indicators,
        });
      }
    }

    // Structural rules at their anchors; encoded segments.
    for (let e = 0; e < count && raw.length < MAX_MATCHES; e++) {
      const o = e * STRIDE;
      const kind = ev[o];
      let list: StructuralRule[] | undefined;
      if (kind === EV_WORD) list = rules.structuralByWord[ev[o + 3]];
      else if (kind === EV_MARK) list = rules.structuralByMark[ev[o + 3]];
      else if (decodeSegments && segments.length < MAX_DECODED_SEGMENTS) {
        let seg: DecodedSegment | null = null;
        const last = segments.length > 0 ? segments[segments.length - 1].end : -1;
        if (kind === EV_LONG && ev[o + 1] >= last) {
          const flags = ev[o + 3];
          seg = (flags & 3) === 2 || (flags & 3) === 0 ? decodeHexAt(text, ev[o + 1], ev[o + 2], maxDecoded) : null;
          seg ??= (flags & 3) === 3 ? decodeBase64At(text, ev[o + 1], ev[o + 2], maxDecoded) : null;
        } else if (kind === EV_PCT && ev[o + 3] >= 3 && ev[o + 1] >= last) {
          seg = decodeUrlAt(text, ev[o + 1], ev[o + 2], maxDecoded);
        }
        if (seg !== null) segments.push(seg);
        continue;
      }
      if (list === undefined) continue;
      const at = ev[o + 1];
      for (const rule of list) {
        if (rule.guard !== undefined && !rule.guard(text, at, ev[o + 2])) continue;
        // Backstop for hostile input with thousands of anchors: each rule gets a bounded number of regex
        // attempts per text (far above what real text needs), so total regex work stays linear.
        const si = structuralIndex.get(rule) as number;
        if (attemptStamp[si] !== call) {
          attemptStamp[si] = call;
          attempts[si] = 0;
        }
        if (attempts[si] >= MAX_STRUCTURAL_ATTEMPTS) continue;
        attempts[si]++;
        rule.re.lastIndex = at;
        const m = rule.re.exec(text);
        if (m === null) continue;
        raw.push({
          rule: null, structural: rule, start: at, end: at + m[0].length, quoted: (ev[o + 6] & WF_QUOTED) !== 0,
          code: (ev[o + 6] & lx.WF_BACKTICKED) !== 0 && rule.codeIsSignature !== true,
          leet: false, indicators: [m[0].length > 80 ? m[0].slice(0, 77) + "..." : m[0]],
        });
        break;
      }
    }
    if ((lex.flags & lx.LF_OTHER_SCRIPT) !== 0) {
      for (const rule of OTHER_SCRIPT_RULES) {
        rule.re.lastIndex = 0;
        const m = rule.re.exec(text);
        if (m !== null) {
          raw.push({
            rule: null, structural: { id: rule.id, category: rule.category, re: rule.re }, start: m.index,
            end: m.index + m[0].length, quoted: false, code: false, leet: false, indicators: [m[0]],
          });
        }
      }
    }
    if (decodeSegments && (lex.flags & lx.LF_TAGS) !== 0) {
      const tags = decodeUnicodeTags(text);
      if (tags !== null) segments.push(tags);
    }
    return { raw, segments };
  }

  function finish(rawAll: RawMatch[], text: string, lexFlags: number, applyContext: boolean): InjectionMatch[] {
    if (rawAll.length === 0) return [];
    const raw = mergeRaw(rawAll);
    let academicDoc: boolean | undefined;
    const out: InjectionMatch[] = [];
    for (const r of raw) {
      const category = r.rule ? r.rule.category : (r.structural as StructuralRule).category;
      const base: Severity = CATEGORY_SEVERITY[category];
      let severity = base;
      const m: InjectionMatch = {
        category, severity, baseSeverity: base, rule: r.rule ? r.rule.id : (r.structural as StructuralRule).id,
        indicators: r.indicators, start: r.start, end: r.end,
      };
      if (applyContext) {
        academicDoc ??= academicDocument(text);
        const ctx = assessContext({
          text, start: r.start, end: r.end, quoted: r.quoted, academicDoc,
          selfLowers: r.rule?.selfLowers ?? false, negationInside: r.rule?.negationInside ?? false,
        });
        // Markup in a code span (`<|im_start|>`, `{{ x }}`) is usually someone talking about syntax. (Not
        // shell commands: an agent may well run what is in the code span.)
        if (r.code && r.structural !== null && (category === "delimiter_injection" || category === "template_injection")) {
          ctx.steps += 1;
          if (!ctx.adjustments.includes("quoted")) ctx.adjustments.push("quoted");
        }
        if (ctx.steps > 0) {
          severity = lowerSeverity(base, ctx.steps);
          m.severity = severity;
          m.adjustments = ctx.adjustments;
        }
      }
      const obf: Obfuscation[] = [];
      if (r.leet) obf.push("leetspeak");
      if (lexFlags & (lx.LF_HOMOGLYPH | lx.LF_INVISIBLE)) {
        const span = text.slice(r.start, r.end);
        if ((lexFlags & lx.LF_HOMOGLYPH) !== 0 && /[\u0370-\u04ff\u1d00-\u1dbf\u0250-\u02af]/.test(span)) obf.push("homoglyphs");
        if ((lexFlags & lx.LF_INVISIBLE) !== 0 && /[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\u180e\u034f]/.test(span)) obf.push("invisible_characters");
      }
      if (obf.length > 0) m.obfuscation = obf;
      out.push(m);
    }
    return dedupe(out);
  }

  function analyzeAt(lex: LexResult, depth: number): InjectionMatch[] {
    const text = lex.text;
    const flags = lex.flags;
    const { raw, segments } = collect(lex);
    // Disguised text is judged on what it says: context does not lower findings inside decoded segments.
    const out = finish(raw, text, flags, depth === 0);
    if (depth > 0) return out;

    if ((flags & lx.LF_NEEDS_NFKC) !== 0) {
      const normalized = text.normalize("NFKC");
      if (normalized !== text) {
        const sameOffsets = normalized.length === text.length;
        for (const m of analyzeAt(lexer.lex(normalized), 1)) {
          if (out.some((o) => o.rule === m.rule)) continue;
          if (!sameOffsets) {
            delete m.start;
            delete m.end;
          }
          m.obfuscation = [...(m.obfuscation ?? []), "nfkc"];
          out.push(m);
        }
      }
    }
    for (const seg of segments) {
      const inner = analyzeAt(lexer.lex(seg.text), 1);
      for (const m of inner) {
        delete m.start;
        delete m.end;
        m.encodedSpan = { start: seg.start, end: seg.end };
        m.obfuscation = [...(m.obfuscation ?? []), seg.encoding];
        out.push(m);
      }
      if (inner.length === 0 && seg.encoding === "unicode_tags") {
        // Invisible ASCII smuggled in tag characters has no innocent use in a prompt.
        out.push({
          category: "encoded_instructions", severity: "medium", baseSeverity: "medium", rule: "hidden-tag-text",
          indicators: [seg.text.length > 80 ? seg.text.slice(0, 77) + "..." : seg.text],
          encodedSpan: { start: seg.start, end: seg.end }, obfuscation: ["unicode_tags"],
        });
      }
    }
    return out;
  }

  return { analyze: (lex) => analyzeAt(lex, 0) };
}

const categoryOf = (r: RawMatch) => (r.rule ? r.rule.category : (r.structural as StructuralRule).category);

/**
 * Merge raw matches of one category whose spans overlap before weighing context (which costs a few
 * regexes per match): one finding per phrase, with every rule's words as indicators.
 */
function mergeRaw(raw: RawMatch[]): RawMatch[] {
  if (raw.length < 2) return raw;
  const out: RawMatch[] = [];
  for (const r of raw) {
    const c = categoryOf(r);
    const o = out.find((x) => categoryOf(x) === c && x.start < r.end && r.start < x.end);
    if (o === undefined) {
      out.push({ ...r, indicators: [...r.indicators] });
      continue;
    }
    o.start = Math.min(o.start, r.start);
    o.end = Math.max(o.end, r.end);
    o.quoted = o.quoted && r.quoted;
    o.code = o.code && r.code;
    o.leet = o.leet || r.leet;
    for (const ind of r.indicators) if (!o.indicators.includes(ind)) o.indicators.push(ind);
  }
  return out;
}

/**
 * Several rules often describe one phrase ("ignore all previous instructions" fires ignore-previous and
 * ignore-all-instructions). Keep one finding per category and overlapping span: the most severe, with
 * the indicators of the others.
 */
function dedupe(found: InjectionMatch[]): InjectionMatch[] {
  if (found.length < 2) return found;
  const rank = (m: InjectionMatch) => severityRank(m.severity);
  const out: InjectionMatch[] = [];
  for (const m of found) {
    const same = out.findIndex(
      (o) => o.category === m.category && o.start !== undefined && m.start !== undefined && o.start < (m.end as number) && m.start < (o.end as number),
    );
    if (same < 0) {
      out.push(m);
      continue;
    }
    const keep = rank(m) > rank(out[same]) ? m : out[same];
    const other = keep === m ? out[same] : m;
    for (const ind of other.indicators) if (!keep.indicators.includes(ind)) keep.indicators.push(ind);
    keep.start = Math.min(keep.start as number, other.start as number);
    keep.end = Math.max(keep.end as number, other.end as number);
    out[same] = keep;
  }
  return out;
}

function colonAfter(text: string, pos: number): boolean {
  for (let i = pos; i < text.length && i < pos + 4; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a || c === 0xff1a) return true;
    if (c !== 0x20 && c !== 0x09 && c !== 0x2a && c !== 0x22 && c !== 0x27) return false;
  }
  return false;
}

function sentenceAround(text: string, start: number, end: number): string {
  let a = start;
  while (a > 0 && start - a < 200 && !".!?\n".includes(text[a - 1])) a--;
  let b = end;
  while (b < text.length && b - end < 200 && !".!?\n".includes(text[b])) b++;
  return text.slice(a, b);
}
