export type { BuiltinPiiType, CustomPiiPattern, PiiDetectorOptions, PiiMatch, PiiType } from "./types.js";
export { BUILTIN_PII_TYPES } from "./types.js";
export { createPiiDetector, type PiiDetector } from "./detector.js";
export { partialMask, redact, redactionLabel, REDACTION_MODES, type RedactOptions, type RedactionMode, type RedactionResult } from "./redact.js";
export { createTokenVault, type StreamRestorer, type TokenVault, type VaultEntry } from "./vault.js";
export * as validators from "./validators.js";
