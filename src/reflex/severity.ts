/** Severity of an injection finding, in increasing order. "none" only appears as a screen's maximum. */
export type Severity = "none" | "low" | "medium" | "high" | "critical";

export const SEVERITIES: readonly Severity[] = ["none", "low", "medium", "high", "critical"];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

/** True when `s` is at least `threshold` (e.g. a policy blocking at "high"). */
export function atLeast(s: Severity, threshold: Severity): boolean {
  return severityRank(s) >= severityRank(threshold);
}

/** Lower a severity by `steps`, never below "low" (a lowered finding is still reported). */
export function lowerSeverity(s: Severity, steps: number): Severity {
  if (s === "none") return s;
  return SEVERITIES[Math.max(1, severityRank(s) - steps)];
}
