/**
 * A stand-alone PII detector: its own vocabulary, lexer and analyser. Use `createScreener` (screen.ts)
 * to run PII and injection detection over one shared lexer pass instead.
 */
import { createLexer } from "../lexer.js";
import { buildVocabulary } from "../vocab.js";
import { createPiiAnalyzer, PII_VOCABULARY } from "./analyze.js";
import { SECRET_PREFIXES } from "./secrets.js";
import type { PiiDetectorOptions, PiiMatch } from "./types.js";

export interface PiiDetector {
  /** Matches in text order, non-overlapping. Offsets are UTF-16 code units. */
  detect(text: string): PiiMatch[];
}

export function createPiiDetector(options: PiiDetectorOptions = {}): PiiDetector {
  const vocab = buildVocabulary(PII_VOCABULARY);
  const lexer = createLexer(vocab, { secretPrefixes: SECRET_PREFIXES });
  const analyzer = createPiiAnalyzer(vocab, options);
  return {
    detect: (text) => (text.length === 0 ? [] : analyzer.analyze(lexer.lex(text))),
  };
}
