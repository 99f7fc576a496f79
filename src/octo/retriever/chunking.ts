/**
 * Splits a document into overlapping chunks small enough to embed, cut where a reader would cut:
 * markdown at headings, then paragraphs, lines, sentences, words; code at top-level declarations,
 * then blank lines, then lines (never inside a line); plain text at paragraphs, lines, sentences,
 * words. Offsets are UTF-16 code units into the original text, so `text === original.slice(start, end)`.
 *
 * Guarantees (checked by property tests):
 * - Coverage: the first chunk starts at 0, the last ends at text.length, and each chunk starts at or
 *   before the previous one's end, so every character lies in some chunk.
 * - Size: every chunk has at most maxChars characters, except a code chunk that must hold a single line
 *   longer than maxChars: that chunk is exactly that one line (with its newline), without overlap.
 * - Overlap: consecutive chunks share at most overlapChars characters, starting at the strongest
 *   boundary in that window (0 when no word or line boundary lies in it). Markdown sections never share characters: overlap stays inside a section.
 * - Deterministic: the same input and options give the same chunks.
 */
import { invalidRequest } from "../../errors.js";

export type DocumentFormat = "text" | "markdown" | "code";

export interface ChunkInput {
  text: string;
  format: DocumentFormat;
  /**
   * The code's language. Accepted (and stored by the retriever) but not used yet: the declaration
   * heuristic below covers the common languages at once; per-language rules would key off this.
   */
  language?: string;
}

export interface ChunkOptions {
  /** Upper bound on a chunk's length in UTF-16 code units (see the over-long-line exception). At least 16. */
  maxChars: number;
  /** Characters a chunk may repeat from the end of the previous one. At most maxChars / 2. */
  overlapChars: number;
}

export interface Chunk {
  index: number;
  text: string;
  start: number;
  end: number;
  /** Markdown only: the heading path of the chunk's section, e.g. "Guide > Install > Linux". */
  heading?: string;
}

export const MIN_CHUNK_CHARS = 16;

export function chunkDocument(input: ChunkInput, options: ChunkOptions): Chunk[] {
  const { maxChars, overlapChars } = options;
  if (!Number.isInteger(maxChars) || maxChars < MIN_CHUNK_CHARS) {
    throw invalidRequest(`maxChars must be an integer of at least ${MIN_CHUNK_CHARS}.`, "max_chars");
  }
  if (!Number.isInteger(overlapChars) || overlapChars < 0 || overlapChars > Math.floor(maxChars / 2)) {
    throw invalidRequest("overlapChars must be an integer between 0 and maxChars / 2.", "overlap_chars");
  }
  const { text, format } = input;
  if (text.length === 0) return [];

  const sections = format === "markdown" ? markdownSections(text) : [{ start: 0, end: text.length }];
  const chunks: Chunk[] = [];
  for (const section of sections) {
    const breaks = format === "code" ? codeBreaks(text, section) : proseBreaks(text, section);
    for (const [start, end] of chunkSection(text, section, breaks, format, options)) {
      const chunk: Chunk = { index: chunks.length, text: text.slice(start, end), start, end };
      if (section.heading !== undefined) chunk.heading = section.heading;
      chunks.push(chunk);
    }
  }
  return chunks;
}

interface Section {
  start: number;
  end: number;
  heading?: string;
}

/**
 * Candidate cut positions, each the offset where the next chunk would start, with a level:
 * lower levels are stronger boundaries. Parallel arrays sorted by position, one entry per position.
 */
interface Breaks {
  positions: number[];
  levels: number[];
}

// Prose levels: a blank line, a line break, a sentence end, any whitespace.
const PARAGRAPH = 0;
const LINE = 1;
const SENTENCE = 2;
const WORD = 3;
// Code levels: a top-level declaration (with its leading comments), the line after a blank line, any line.
const DECLARATION = 0;
const BLANK = 1;
const CODE_LINE = 2;

function chunkSection(
  text: string,
  section: Section,
  breaks: Breaks,
  format: DocumentFormat,
  { maxChars, overlapChars }: ChunkOptions,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  // Cutting at or after contentEnd would leave a whitespace-only chunk: avoid it when another cut exists.
  const contentEnd = trimmedEnd(text, section.start, section.end);
  let start = section.start;
  let prevEnd = section.start;
  for (;;) {
    if (section.end - start <= maxChars) {
      out.push([start, section.end]);
      return out;
    }
    // A chunk must end past the previous chunk's end, or the walk would not advance.
    const lo = Math.max(start, prevEnd);
    const hi = start + maxChars;
    const preferFrom = start + Math.ceil(maxChars / 2);
    let end = pickEnd(breaks, lo, Math.min(hi, contentEnd - 1), preferFrom) ?? pickEnd(breaks, lo, hi, preferFrom);
    if (end === null && start < prevEnd) {
      // Nothing to cut at with the overlap in front: give up the overlap rather than cut badly.
      start = prevEnd;
      continue;
    }
    if (end === null) {
      if (format === "code") {
        // A single line longer than maxChars: it becomes its own chunk, since code is never cut mid-line.
        const newline = text.indexOf("\n", start);
        end = newline === -1 || newline + 1 > section.end ? section.end : newline + 1;
      } else {
        end = hardCut(text, start, hi);
      }
    }
    out.push([start, end]);
    if (end >= section.end) return out;
    prevEnd = end;
    start = overlapStart(text, breaks, start, end, overlapChars);
  }
}

/**
 * The furthest break of the strongest level in (lo, hi], preferring breaks at or after preferFrom
 * (so chunks come out at least half full); null when (lo, hi] holds no break.
 */
function pickEnd(breaks: Breaks, lo: number, hi: number, preferFrom: number): number | null {
  const { positions, levels } = breaks;
  const bestPreferred = new Map<number, number>();
  const bestAny = new Map<number, number>();
  for (let i = lastAtOrBelow(positions, hi); i >= 0 && positions[i] > lo; i--) {
    const level = levels[i];
    // Walking backwards, the first break seen of each level is its furthest.
    if (positions[i] >= preferFrom && !bestPreferred.has(level)) bestPreferred.set(level, positions[i]);
    if (!bestAny.has(level)) bestAny.set(level, positions[i]);
  }
  for (const best of [bestPreferred, bestAny]) {
    if (best.size > 0) return best.get(Math.min(...best.keys())) ?? null;
  }
  return null;
}

/**
 * Where the chunk after [start, end) begins: at the strongest boundary within overlapChars before end
 * (a sentence or declaration start reads better than a mid-sentence word), the earliest such one, so
 * the overlap is as long as that allows; at end (no overlap) when the window holds no boundary.
 */
function overlapStart(text: string, breaks: Breaks, start: number, end: number, overlapChars: number): number {
  if (overlapChars === 0) return end;
  const { positions, levels } = breaks;
  // An overlap of only whitespace repeats nothing worth repeating.
  const limit = trimmedEnd(text, start, end);
  let best = end;
  let bestLevel = Infinity;
  for (let i = firstAtOrAbove(positions, Math.max(end - overlapChars, start + 1)); i < positions.length && positions[i] < limit; i++) {
    if (levels[i] < bestLevel) {
      best = positions[i];
      bestLevel = levels[i];
    }
  }
  return best;
}

/** A cut with no boundary to use, moved back one unit rather than split a surrogate pair. */
function hardCut(text: string, start: number, at: number): number {
  const high = text.charCodeAt(at - 1);
  const low = text.charCodeAt(at);
  const splitsPair = high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff;
  return splitsPair && at - 1 > start ? at - 1 : at;
}

function trimmedEnd(text: string, start: number, end: number): number {
  let e = end;
  while (e > start && /\s/.test(text[e - 1])) e--;
  return e;
}

function lastAtOrBelow(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function firstAtOrAbove(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Collects breaks, keeping the strongest level seen at each position, inside (start, end). */
class BreakCollector {
  private readonly byPosition = new Map<number, number>();
  constructor(
    private readonly start: number,
    private readonly end: number,
  ) {}

  add(position: number, level: number): void {
    if (position <= this.start || position >= this.end) return;
    const seen = this.byPosition.get(position);
    if (seen === undefined || level < seen) this.byPosition.set(position, level);
  }

  finish(): Breaks {
    const positions = [...this.byPosition.keys()].sort((a, b) => a - b);
    return { positions, levels: positions.map((p) => this.byPosition.get(p) ?? WORD) };
  }
}

interface Line {
  start: number;
  /** Offset after the line's newline (or the section end). */
  next: number;
  blank: boolean;
  text: string;
}

function linesOf(text: string, start: number, end: number): Line[] {
  const lines: Line[] = [];
  let at = start;
  while (at < end) {
    const newline = text.indexOf("\n", at);
    const next = newline === -1 || newline >= end ? end : newline + 1;
    const lineText = text.slice(at, next);
    lines.push({ start: at, next, blank: lineText.trim() === "", text: lineText });
    at = next;
  }
  return lines;
}

// A sentence ends with terminal punctuation, optional closing quotes or brackets, then whitespace.
const SENTENCE_END = /[.!?…。！？]["'”’)\]]*\s+/g;
const WHITESPACE_RUN = /\s+/g;

function proseBreaks(text: string, section: Section): Breaks {
  const breaks = new BreakCollector(section.start, section.end);
  let afterBlank = false;
  for (const line of linesOf(text, section.start, section.end)) {
    // Cutting at the start of a blank line would split a paragraph gap: only as good as any whitespace.
    breaks.add(line.start, line.blank ? WORD : afterBlank ? PARAGRAPH : LINE);
    afterBlank = line.blank;
  }
  const body = text.slice(section.start, section.end);
  for (const match of body.matchAll(SENTENCE_END)) breaks.add(section.start + match.index + match[0].length, SENTENCE);
  for (const match of body.matchAll(WHITESPACE_RUN)) breaks.add(section.start + match.index + match[0].length, WORD);
  return breaks.finish();
}

// Lines at column 0 that usually open a top-level unit, across JS/TS, Python, Rust, Go, Java, C#, Kotlin…
const DECLARATION_START =
  /^(?:export|public|private|protected|internal|pub|async|static|abstract|function|def|class|fn|func|impl|struct|enum|trait|interface|type|module|namespace|object)\b/;
// Comment, doc-comment and decorator lines that belong to the declaration below them.
const LEADING_TRIVIA = /^\s*(?:\/\/|\/\*|\*|#|@|--|;;|""")/;

function codeBreaks(text: string, section: Section): Breaks {
  const breaks = new BreakCollector(section.start, section.end);
  const lines = linesOf(text, section.start, section.end);
  for (const [i, line] of lines.entries()) {
    breaks.add(line.start, !line.blank && i > 0 && lines[i - 1].blank ? BLANK : CODE_LINE);
    if (DECLARATION_START.test(line.text)) {
      // Cut above the declaration's doc comment and decorators, so they travel with it.
      let first = i;
      while (first > 0 && !lines[first - 1].blank && LEADING_TRIVIA.test(lines[first - 1].text)) first--;
      breaks.add(lines[first].start, DECLARATION);
    }
  }
  return breaks.finish();
}

// ATX headings only (`## Title`); setext underlines are rare in the documents people ingest.
const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*\r?\n?$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Markdown split at ATX headings (outside fenced code), each section carrying its heading path.
 * Leading whitespace before the first heading, and headings with nothing under them, join the
 * following section so no chunk is only a title.
 */
function markdownSections(text: string): Section[] {
  const raw: Array<{ start: number; heading?: string; bodyBlank: boolean }> = [];
  const path: Array<{ depth: number; title: string }> = [];
  let fence: string | null = null;
  raw.push({ start: 0, bodyBlank: true });
  for (const line of linesOf(text, 0, text.length)) {
    const fenceMatch = FENCE.exec(line.text);
    if (fenceMatch) {
      const marker = fenceMatch[1];
      if (fence === null) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length) fence = null;
    }
    const heading = fence === null && !fenceMatch ? ATX_HEADING.exec(line.text) : null;
    if (heading) {
      const depth = heading[1].length;
      while (path.length > 0 && path[path.length - 1].depth >= depth) path.pop();
      path.push({ depth, title: (heading[2] ?? "").trim() });
      raw.push({ start: line.start, heading: path.map((h) => h.title).join(" > "), bodyBlank: true });
    } else if (!line.blank) {
      raw[raw.length - 1].bodyBlank = false;
    }
  }

  const sections: Section[] = [];
  let pendingStart: number | null = null;
  for (const [i, section] of raw.entries()) {
    const end = i + 1 < raw.length ? raw[i + 1].start : text.length;
    if (end === section.start) continue; // an empty preamble (the text starts with a heading)
    const start: number = pendingStart ?? section.start;
    if (section.bodyBlank && i + 1 < raw.length) {
      pendingStart = start;
      continue;
    }
    pendingStart = null;
    sections.push(section.heading === undefined ? { start, end } : { start, end, heading: section.heading });
  }
  return sections;
}
