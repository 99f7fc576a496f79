import type { Severity } from "../severity.js";

export type InjectionCategory =
  | "ignore_previous_instructions"
  | "new_instruction_injection"
  | "system_role_manipulation"
  | "dan_jailbreak"
  | "direct_prompt_extraction"
  | "indirect_prompt_extraction"
  | "delimiter_injection"
  | "command_injection"
  | "template_injection"
  | "data_exfiltration"
  | "roleplay_jailbreak"
  | "nested_prompt"
  | "encoded_instructions"
  | "memory_access";

/** Severity of each category before context is taken into account. */
export const CATEGORY_SEVERITY: Readonly<Record<InjectionCategory, Severity>> = {
  ignore_previous_instructions: "critical",
  new_instruction_injection: "critical",
  system_role_manipulation: "critical",
  dan_jailbreak: "critical",
  direct_prompt_extraction: "high",
  indirect_prompt_extraction: "high",
  delimiter_injection: "high",
  command_injection: "high",
  template_injection: "high",
  data_exfiltration: "high",
  roleplay_jailbreak: "medium",
  nested_prompt: "medium",
  encoded_instructions: "medium",
  memory_access: "medium",
};

/** Why a finding's severity was lowered. */
export type ContextAdjustment = "quoted" | "negated" | "self_reference" | "mention" | "academic_sentence" | "academic_document";

/** How the text had been disguised when the finding was made. */
export type Obfuscation = "base64" | "hex" | "url_encoding" | "unicode_tags" | "nfkc" | "leetspeak" | "homoglyphs" | "invisible_characters";

export interface InjectionMatch {
  category: InjectionCategory;
  /** After context adjustments. */
  severity: Severity;
  baseSeverity: Severity;
  /** The rule that fired. */
  rule: string;
  /** What fired: the words of a phrase rule ("ignore", "previous", "instructions"), or the marker matched. */
  indicators: string[];
  /**
   * Span in the screened text (UTF-16 code units). Absent when the finding came from a decoded or
   * NFKC-normalised copy whose offsets do not map back exactly; then `encodedSpan` may locate the
   * encoded segment instead.
   */
  start?: number;
  end?: number;
  /** For findings inside a decoded segment: where the encoded segment is in the screened text. */
  encodedSpan?: { start: number; end: number };
  adjustments?: ContextAdjustment[];
  obfuscation?: Obfuscation[];
}

export interface InjectionDetectorOptions {
  /** Decode base64 / hex / URL-encoded segments and scan them too (default true). */
  decodeSegments?: boolean;
  /** Longest decoded segment scanned, in characters (default 4096). */
  maxDecodedLength?: number;
}
