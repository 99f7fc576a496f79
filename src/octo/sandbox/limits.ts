/**
 * Resource limits of one run, and how they become setrlimit calls. The wall-clock timeout and the
 * output cap are enforced by the supervisor (supervise.ts); everything else is an rlimit that
 * `prlimit` sets inside the sandbox, just before exec'ing the command (see README.md for why inside).
 */
import { z } from "zod";

export interface SandboxLimits {
  /** Wall clock; the whole sandbox is SIGKILLed when it runs out. */
  timeoutMs: number;
  /** stdout + stderr together; the sandbox is killed when output goes past it. */
  maxOutputBytes: number;
  /**
   * RLIMIT_AS of each process. Address space, not resident memory, so it also stops shared anonymous
   * mappings (which RLIMIT_DATA does not). Node needs about 768 MiB of it just to start (V8 reserves its
   * code range up front); Python runs in 32 MiB.
   */
  memoryBytes: number;
  /** RLIMIT_NPROC, set inside the sandbox's own user namespace: counts the sandbox's processes and threads only. */
  maxProcesses: number;
  /** RLIMIT_CPU of each process, in seconds. Default: the timeout, rounded up. */
  cpuSeconds?: number;
  /** RLIMIT_FSIZE: the largest file a process may write (SIGXFSZ past it). */
  maxFileBytes: number;
  /** RLIMIT_NOFILE. */
  maxOpenFiles: number;
  /** Size of each of the sandbox's private tmpfs mounts (/tmp, /dev/shm), which are RAM and outside RLIMIT_AS. */
  tmpBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  timeoutMs: 30_000,
  maxOutputBytes: 1 * MiB,
  memoryBytes: 1024 * MiB,
  maxProcesses: 64,
  maxFileBytes: 64 * MiB,
  maxOpenFiles: 256,
  tmpBytes: 64 * MiB,
});

const positiveInt = () => z.number().int().positive();

export const limitsSchema = z
  .object({
    timeoutMs: positiveInt().max(24 * 60 * 60 * 1000),
    maxOutputBytes: positiveInt(),
    memoryBytes: z.number().int().min(16 * MiB),
    // The sandbox's init (bwrap) counts against the limit, so 2 is the least that can run a command.
    maxProcesses: z.number().int().min(2).max(100_000),
    cpuSeconds: positiveInt().optional(),
    maxFileBytes: positiveInt(),
    maxOpenFiles: z.number().int().min(16).max(1_048_576),
    tmpBytes: z.number().int().min(MiB),
  })
  .strict();

export const partialLimitsSchema = limitsSchema.partial();

/** Config defaults, overridden by whatever the config sets. */
export function configLimits(overrides: Partial<SandboxLimits> | undefined): SandboxLimits {
  return limitsSchema.parse({ ...DEFAULT_LIMITS, ...overrides });
}

/** A run may tighten the configured limits, never loosen them. */
export function tightenLimits(base: SandboxLimits, overrides: Partial<SandboxLimits> | undefined): SandboxLimits {
  const o = partialLimitsSchema.parse(overrides ?? {});
  const min = (a: number, b: number | undefined) => (b === undefined ? a : Math.min(a, b));
  return {
    timeoutMs: min(base.timeoutMs, o.timeoutMs),
    maxOutputBytes: min(base.maxOutputBytes, o.maxOutputBytes),
    memoryBytes: min(base.memoryBytes, o.memoryBytes),
    maxProcesses: min(base.maxProcesses, o.maxProcesses),
    cpuSeconds: o.cpuSeconds === undefined ? base.cpuSeconds : min(base.cpuSeconds ?? o.cpuSeconds, o.cpuSeconds),
    maxFileBytes: min(base.maxFileBytes, o.maxFileBytes),
    maxOpenFiles: min(base.maxOpenFiles, o.maxOpenFiles),
    tmpBytes: min(base.tmpBytes, o.tmpBytes),
  };
}

/** `prlimit` options (util-linux) for the limits; a single value sets both soft and hard limits. */
export function prlimitArgs(limits: SandboxLimits): string[] {
  const cpu = limits.cpuSeconds ?? Math.max(1, Math.ceil(limits.timeoutMs / 1000));
  return [
    `--as=${limits.memoryBytes}`,
    `--nproc=${limits.maxProcesses}`,
    `--cpu=${cpu}`,
    `--fsize=${limits.maxFileBytes}`,
    `--nofile=${limits.maxOpenFiles}`,
    // No core files: they would land in the work dir, and can be big.
    "--core=0",
  ];
}
