/** Built-in kinds of personal or secret data the PII detector recognises. */
export type BuiltinPiiType =
  | "email"
  | "phone"
  | "credit_card"
  | "ssn"
  | "itin"
  | "iban"
  | "bank_account"
  | "routing_number"
  | "ipv4"
  | "ipv6"
  | "mac_address"
  | "date_of_birth"
  | "passport"
  | "drivers_license"
  | "medical_record"
  | "api_key"
  | "private_key"
  | "jwt"
  | "secret"
  | "bitcoin_address"
  | "ethereum_address";

/** Built-in types, plus "custom" for configured patterns (their name is in `subtype`). */
export type PiiType = BuiltinPiiType | "custom";

export const BUILTIN_PII_TYPES: readonly BuiltinPiiType[] = [
  "email", "phone", "credit_card", "ssn", "itin", "iban", "bank_account", "routing_number", "ipv4", "ipv6",
  "mac_address", "date_of_birth", "passport", "drivers_license", "medical_record", "api_key", "private_key",
  "jwt", "secret", "bitcoin_address", "ethereum_address",
];

export interface PiiMatch {
  type: PiiType;
  /** Finer label: card brand, secret provider ("aws_access_key", "github_token"…), custom pattern name. */
  subtype?: string;
  /**
   * Offsets into the screened string in UTF-16 code units — the units JavaScript string indices use —
   * so `text.slice(start, end) === match.text`. (Not bytes, not code points: "😀" counts as 2.)
   */
  start: number;
  end: number;
  text: string;
  /** 0..1. Higher when a checksum validates or context words agree ("SSN:", "call me at"). */
  confidence: number;
}

export interface CustomPiiPattern {
  /** Reported as the match's subtype; also used as the label for redaction ("[EMPLOYEE_ID]"). */
  name: string;
  /** A RegExp or its source (compiled with the "g" flag, plus "i" when `caseInsensitive`). */
  regex: RegExp | string;
  confidence?: number;
  caseInsensitive?: boolean;
}

export interface PiiDetectorOptions {
  /** Report only these built-in types (default: all). */
  types?: readonly BuiltinPiiType[];
  /** Drop matches below this confidence (default 0.5). */
  minConfidence?: number;
  /** Extra patterns from configuration. Each is one regex scan of the whole text: keep them few. */
  custom?: readonly CustomPiiPattern[];
}
