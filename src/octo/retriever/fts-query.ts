/**
 * Free user text → a safe FTS5 MATCH expression. FTS5's query syntax gives meaning to `"`, `*`, `:`,
 * `^`, `+`, `-`, parentheses, `NEAR` and the uppercase words AND, OR, NOT; passing user text through
 * would turn a question like "NOT (x)" or `title:` into a syntax error or a different query. So the
 * text is cut into terms of letters and digits, each term becomes a quoted string (inside which FTS5
 * sees no operators), and the terms are ORed: BM25 then ranks chunks matching more, and rarer, terms
 * higher, which suits natural-language questions better than requiring every word.
 */

/** Terms beyond this are dropped: a pasted page must not become a query of thousands of ORs. */
export const MAX_QUERY_TERMS = 64;

// A term is a run of letters, digits and combining marks (what the unicode61 tokenizer keeps);
// it must hold a letter or a digit, since a lone mark tokenizes to nothing.
const TERM = /[\p{L}\p{N}\p{M}]+/gu;
const HAS_LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/** The MATCH expression for `text`, or null when it holds no searchable term (then nothing matches). */
export function toFtsMatchExpression(text: string): string | null {
  const terms: string[] = [];
  const seen = new Set<string>();
  for (const [term] of text.matchAll(TERM)) {
    if (!HAS_LETTER_OR_DIGIT.test(term)) continue;
    const key = term.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    terms.push(term);
    if (terms.length === MAX_QUERY_TERMS) break;
  }
  if (terms.length === 0) return null;
  // Terms hold no `"` by construction; doubling is FTS5's escape and keeps this safe if TERM changes.
  return terms.map((term) => `"${term.replaceAll('"', '""')}"`).join(" OR ");
}
