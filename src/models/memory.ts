import { freemem, totalmem } from "node:os";

export interface MemoryProbe {
  totalBytes(): number;
  /** Memory the system could give a new process now (Linux: MemAvailable). */
  freeBytes(): number;
}

export const systemMemory: MemoryProbe = { totalBytes: totalmem, freeBytes: freemem };

export interface MemoryLimits {
  /** Share of system memory models may use together. */
  maxMemoryPercent: number;
  /** Above this share of system memory in use, new inference requests are shed (503). */
  loadSheddingPercent: number;
}

export interface MemorySnapshot {
  total_bytes: number;
  free_bytes: number;
  used_percent: number;
  budget_bytes: number;
  /** What the loaded models were estimated to need. */
  models_bytes: number;
  /** What a new model may use now: the budget left, but never more than is actually free. */
  available_bytes: number;
  max_memory_percent: number;
  load_shedding_percent: number;
}

/** Memory accounting for loads (refuse what will not fit) and for load shedding. */
export class MemoryGuard {
  private shedCheckedAt = 0;
  private shedding = false;

  constructor(
    private readonly limits: () => MemoryLimits,
    private readonly probe: MemoryProbe = systemMemory,
  ) {}

  snapshot(modelsBytes: number): MemorySnapshot {
    const limits = this.limits();
    const total = this.probe.totalBytes();
    const free = this.probe.freeBytes();
    const budget = Math.floor((total * limits.maxMemoryPercent) / 100);
    return {
      total_bytes: total,
      free_bytes: free,
      used_percent: Math.round((1 - free / total) * 1000) / 10,
      budget_bytes: budget,
      models_bytes: modelsBytes,
      available_bytes: Math.max(0, Math.min(budget - modelsBytes, free)),
      max_memory_percent: limits.maxMemoryPercent,
      load_shedding_percent: limits.loadSheddingPercent,
    };
  }

  /** True when memory in use is above the shedding threshold (re-read at most every 250 ms). */
  overloaded(): boolean {
    const now = performance.now();
    if (now - this.shedCheckedAt > 250) {
      this.shedCheckedAt = now;
      const usedPercent = (1 - this.probe.freeBytes() / this.probe.totalBytes()) * 100;
      this.shedding = usedPercent > this.limits().loadSheddingPercent;
    }
    return this.shedding;
  }
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}
