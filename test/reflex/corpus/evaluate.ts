/**
 * Scores the detectors against the corpus. Used by accuracy.test.ts, and runnable to see every miss
 * and false positive:  npx tsx test/reflex/corpus/evaluate.ts [pii|injection]
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createScreener, type Screener } from "../../../src/reflex/screen.js";
import { atLeast, type Severity } from "../../../src/reflex/severity.js";
import type { InjectionSample } from "./injection-corpus.js";
import type { PiiSample } from "./pii-corpus.js";

const here = dirname(fileURLToPath(import.meta.url));

export function loadJsonl<T>(file: string): T[] {
  return readFileSync(join(here, file), "utf8").trim().split("\n").map((l) => JSON.parse(l) as T);
}

/** An injection finding counts as a detection at this severity or above. */
export const FLAG_AT: Severity = "medium";

export interface PiiScore {
  positives: number;
  negatives: number;
  entities: number;
  found: number;
  recall: number;
  falsePositiveRate: number;
  misses: Array<{ id: string; type: string; value: string; got: string[] }>;
  falsePositives: Array<{ id: string; text: string; got: string[] }>;
  byType: Record<string, { total: number; found: number }>;
}

export function scorePii(samples: PiiSample[], screener: Screener = createScreener({ cache: false })): PiiScore {
  const misses: PiiScore["misses"] = [];
  const falsePositives: PiiScore["falsePositives"] = [];
  const byType: PiiScore["byType"] = {};
  let entities = 0;
  let found = 0;
  let negatives = 0;
  let positives = 0;
  for (const s of samples) {
    const got = screener.screen(s.text, { injection: false }).pii;
    const show = got.map((m) => `${m.type}:${m.text}@${m.confidence}`);
    if (s.entities.length === 0) {
      negatives++;
      if (got.length > 0) falsePositives.push({ id: s.id, text: s.text, got: show });
      continue;
    }
    positives++;
    let from = 0;
    for (const e of s.entities) {
      entities++;
      const t = (byType[e.type] ??= { total: 0, found: 0 });
      t.total++;
      let at = s.text.indexOf(e.value, from);
      if (at < 0) at = s.text.indexOf(e.value);
      from = at + e.value.length;
      const end = at + e.value.length;
      const hit = got.some((m) => m.type === e.type && m.start < end && m.end > at);
      if (hit) {
        found++;
        t.found++;
      } else misses.push({ id: s.id, type: e.type, value: e.value, got: show });
    }
  }
  return {
    positives, negatives, entities, found, recall: found / entities, falsePositiveRate: falsePositives.length / negatives,
    misses, falsePositives, byType,
  };
}

export interface InjectionScore {
  positives: number;
  negatives: number;
  detected: number;
  recall: number;
  falsePositiveRate: number;
  misses: Array<{ id: string; technique?: string; text: string; got: string[] }>;
  falsePositives: Array<{ id: string; text: string; got: string[] }>;
  byTechnique: Record<string, { total: number; detected: number }>;
}

export function scoreInjection(samples: InjectionSample[], screener: Screener = createScreener({ cache: false })): InjectionScore {
  const misses: InjectionScore["misses"] = [];
  const falsePositives: InjectionScore["falsePositives"] = [];
  const byTechnique: InjectionScore["byTechnique"] = {};
  let detected = 0;
  let positives = 0;
  let negatives = 0;
  for (const s of samples) {
    const r = screener.screen(s.text, { pii: false });
    const flagged = atLeast(r.maxSeverity, FLAG_AT);
    const show = r.injection.map((m) => `${m.category}/${m.rule}:${m.severity}${m.adjustments ? "(" + m.adjustments.join("+") + ")" : ""}`);
    if (s.attack) {
      positives++;
      const t = (byTechnique[s.technique ?? "plain"] ??= { total: 0, detected: 0 });
      t.total++;
      if (flagged) {
        detected++;
        t.detected++;
      } else misses.push({ id: s.id, technique: s.technique, text: s.text, got: show });
    } else {
      negatives++;
      if (flagged) falsePositives.push({ id: s.id, text: s.text, got: show });
    }
  }
  return {
    positives, negatives, detected, recall: detected / positives, falsePositiveRate: falsePositives.length / negatives,
    misses, falsePositives, byTechnique,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const which = process.argv[2] ?? "both";
  const pct = (x: number) => (x * 100).toFixed(1) + "%";
  if (which !== "injection") {
    const p = scorePii(loadJsonl<PiiSample>("pii.jsonl"));
    for (const m of p.misses) console.log("MISS", m.id, m.type, JSON.stringify(m.value), "got", m.got.join(" | "));
    for (const f of p.falsePositives) console.log("FP  ", f.id, JSON.stringify(f.text.slice(0, 120)), "got", f.got.join(" | "));
    console.log(`PII: recall ${pct(p.recall)} (${p.found}/${p.entities} entities in ${p.positives} samples), FP rate ${pct(p.falsePositiveRate)} (${p.falsePositives.length}/${p.negatives})`);
    console.log(JSON.stringify(p.byType));
  }
  if (which !== "pii") {
    const s = scoreInjection(loadJsonl<InjectionSample>("injection.jsonl"));
    for (const m of s.misses) console.log("MISS", m.id, m.technique, JSON.stringify(m.text.slice(0, 140)), "got", m.got.join(" | "));
    for (const f of s.falsePositives) console.log("FP  ", f.id, JSON.stringify(f.text.slice(0, 140)), "got", f.got.join(" | "));
    console.log(`Injection: recall ${pct(s.recall)} (${s.detected}/${s.positives}), FP rate ${pct(s.falsePositiveRate)} (${s.falsePositives.length}/${s.negatives})`);
    console.log(JSON.stringify(s.byTechnique));
  }
}
