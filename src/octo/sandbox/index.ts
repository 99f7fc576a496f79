/** The sandboxed command executor of Octo's executor arm. See README.md for what it isolates and how. */
export { createCapabilityIssuer } from "./capability.js";
export type { CapabilityClaims, CapabilityGrant, CapabilityIssuer, CapabilityIssuerOptions, CapabilityRequest } from "./capability.js";
export { createSandboxExecutor } from "./executor.js";
export type { SandboxExecutor, SandboxExecutorConfig, SandboxFileRequest, SandboxRunRequest, SandboxRunResult } from "./executor.js";
export { detectSandbox, DEFAULT_SANDBOX_USER } from "./detect.js";
export type { SandboxAttempt, SandboxDetectOptions, SandboxDetection } from "./detect.js";
export type { SandboxMode } from "./bwrap-args.js";
export { SANDBOX_WORKDIR } from "./bwrap-args.js";
export { DEFAULT_LIMITS } from "./limits.js";
export type { SandboxLimits } from "./limits.js";
