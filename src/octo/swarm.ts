/**
 * Swarm decisions: N proposals for one step (different seeds and temperatures), aggregated into one.
 * Discrete answers (verdicts, numbers, short labels) are counted by majority. Free text is voted by
 * similarity: each proposal supports the others in proportion to how alike they are, weighted by its
 * confidence, and the best-supported one wins. When support is low (the proposals contradict each
 * other) the judge arbitrates between the leaders. The consensus level is recorded either way.
 */
import type { Consensus } from "./contract.js";

export interface Proposal {
  text: string;
  /** Set when the answer is discrete: proposals are then counted by it. */
  discrete?: string | null;
  confidence?: number | null;
}

export interface Aggregate {
  winner: number;
  consensus: Omit<Consensus, "arbitrated">;
  /** Proposals worth arbitrating between (best first) when the vote is contested; empty otherwise. */
  contested: number[];
}

export function aggregate(proposals: readonly Proposal[], arbitrateBelow: number): Aggregate {
  if (proposals.length === 0) throw new Error("no proposals to aggregate");
  if (proposals.length === 1) return { winner: 0, consensus: { method: "majority", level: 1, proposals: 1, winner: 0 }, contested: [] };
  if (proposals.every((p) => typeof p.discrete === "string")) return majority(proposals, arbitrateBelow);
  return similarityVote(proposals, arbitrateBelow);
}

function majority(proposals: readonly Proposal[], arbitrateBelow: number): Aggregate {
  const groups = new Map<string, number[]>();
  proposals.forEach((p, i) => {
    const key = normalize(p.discrete as string);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  // Largest group first; a tie goes to the group whose members are more confident, then to the earlier.
  const ranked = [...groups.values()].sort((a, b) => b.length - a.length || weight(proposals, b) - weight(proposals, a) || a[0] - b[0]);
  const top = ranked[0];
  const level = top.length / proposals.length;
  const tied = ranked.length > 1 && ranked[1].length === top.length;
  const winner = top.reduce((best, i) => ((proposals[i].confidence ?? 0) > (proposals[best].confidence ?? 0) ? i : best), top[0]);
  return {
    winner,
    consensus: { method: "majority", level, proposals: proposals.length, winner },
    contested: tied || level < arbitrateBelow ? ranked.slice(0, 3).map((g) => g[0]) : [],
  };
}

function similarityVote(proposals: readonly Proposal[], arbitrateBelow: number): Aggregate {
  const vectors = proposals.map((p) => termVector(p.text));
  const n = proposals.length;
  const support = proposals.map((_, i) => {
    let sum = 0;
    let weights = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const w = proposals[j].confidence ?? 1;
      sum += w * cosine(vectors[i], vectors[j]);
      weights += w;
    }
    return weights > 0 ? sum / weights : 0;
  });
  // An empty proposal never wins on similarity to other empties.
  const order = support.map((s, i) => ({ s: proposals[i].text.trim() ? s : -1, i })).sort((a, b) => b.s - a.s || a.i - b.i);
  const winner = order[0].i;
  const level = Math.max(0, order[0].s);
  return {
    winner,
    consensus: { method: "similarity", level, proposals: n, winner },
    contested: level < arbitrateBelow ? order.filter((o) => o.s >= 0).slice(0, 3).map((o) => o.i) : [],
  };
}

function weight(proposals: readonly Proposal[], group: number[]): number {
  return group.reduce((sum, i) => sum + (proposals[i].confidence ?? 0), 0);
}

function normalize(answer: string): string {
  return answer.trim().toLowerCase().replace(/\s+/g, " ").replace(/[.!]+$/, "");
}

/** Word and word-pair counts: pairs make "not safe" differ from "safe". */
export function termVector(text: string): Map<string, number> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
  const vector = new Map<string, number>();
  const add = (term: string) => vector.set(term, (vector.get(term) ?? 0) + 1);
  words.forEach((word, i) => {
    add(word);
    if (i > 0) add(`${words[i - 1]} ${word}`);
  });
  return vector;
}

export function cosine(a: Map<string, number>, b: Map<string, number>): number {
  if (a.size === 0 || b.size === 0) return a.size === b.size ? 1 : 0;
  let dot = 0;
  for (const [term, count] of a) dot += count * (b.get(term) ?? 0);
  const norm = (v: Map<string, number>) => Math.sqrt([...v.values()].reduce((s, x) => s + x * x, 0));
  return dot / (norm(a) * norm(b));
}

/** Temperatures spread evenly around `base` (clamped to 0..2), one per proposal. */
export function spreadTemperatures(base: number, n: number, spread: number): number[] {
  if (n === 1) return [base];
  return Array.from({ length: n }, (_, i) => Math.min(2, Math.max(0, base + spread * ((2 * i) / (n - 1) - 1))));
}
