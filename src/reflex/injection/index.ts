export type { ContextAdjustment, InjectionCategory, InjectionDetectorOptions, InjectionMatch, Obfuscation } from "./types.js";
export { CATEGORY_SEVERITY } from "./types.js";
export { createInjectionDetector, type InjectionDetector } from "./detector.js";
