/**
 * Parsers for option values, so a bad flag fails before anything is sent, with commander's usual
 * "option '--parallel <n>' argument 'x' is invalid" line.
 */
import { InvalidArgumentError } from "commander";
import { isKeepAlive } from "../config/duration.js";

export function integerIn(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("expected an integer.");
    if (n < min || n > max) throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected an integer >= ${min}.` : `expected an integer from ${min} to ${max}.`);
    return n;
  };
}

export function numberIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("expected a number.");
    if (n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}.`);
    return n;
  };
}

export const parsePort = integerIn(1, 65535);

export function parseGpuLayers(value: string): number | "auto" | "max" {
  if (value === "auto" || value === "max") return value;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("expected a number of layers, 'auto' or 'max'.");
  return n;
}

/** Ollama's keep-alive: 30s, 5m, 1h30m, seconds, 0 (unload when idle) or -1 (forever). Numbers stay numbers. */
export function parseKeepAliveOption(value: string): string | number {
  if (!isKeepAlive(value)) throw new InvalidArgumentError("expected a duration such as 30s, 5m, 1h30m, a number of seconds, 0, or -1 (forever).");
  return /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
}
