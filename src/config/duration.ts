/**
 * Keep-alive durations with Ollama's semantics: a duration string ("5m", "1h30m", "45s", "500ms"),
 * or a number of seconds; 0 unloads right after the request; a negative value keeps the model
 * loaded for good. Returns milliseconds, or null for "forever".
 */
export type KeepAlive = string | number;

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseKeepAlive(value: KeepAlive): number | null {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`invalid duration ${value}`);
    return value < 0 ? null : Math.round(value * 1000);
  }
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return parseKeepAlive(Number(text));
  if (text.startsWith("-")) {
    parseKeepAlive(text.slice(1)); // validate the rest
    return null;
  }
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw new Error(`invalid duration '${value}': use e.g. 30s, 5m, 1h30m, 0, or -1`);
  }
  return Math.round(parts.reduce((ms, [, amount, unit]) => ms + Number(amount) * unitMs[unit], 0));
}

export function isKeepAlive(value: unknown): boolean {
  if (typeof value !== "string" && typeof value !== "number") return false;
  try {
    parseKeepAlive(value);
    return true;
  } catch {
    return false;
  }
}
