/**
 * A stand-alone injection detector: its own vocabulary, lexer and analyser. Use `createScreener`
 * (screen.ts) to run PII and injection detection over one shared lexer pass instead.
 */
import { createLexer } from "../lexer.js";
import { buildVocabulary } from "../vocab.js";
import { createInjectionAnalyzer } from "./analyze.js";
import { compileRules, injectionVocabulary } from "./compile.js";
import type { InjectionDetectorOptions, InjectionMatch } from "./types.js";

export interface InjectionDetector {
  detect(text: string): InjectionMatch[];
}

export function createInjectionDetector(options: InjectionDetectorOptions = {}): InjectionDetector {
  const vocab = buildVocabulary(injectionVocabulary());
  const lexer = createLexer(vocab);
  const analyzer = createInjectionAnalyzer(lexer, compileRules(vocab), options);
  return {
    detect: (text) => (text.length === 0 ? [] : analyzer.analyze(lexer.lex(text))),
  };
}
