/**
 * Accuracy against the labelled corpus (test/reflex/corpus). Fails below the agreed bars:
 * PII recall 95% / FP rate 2%, injection recall 90% / FP rate 2%. An injection finding counts as a
 * detection at severity "medium" or above (see evaluate.ts).
 *
 * History, for honesty: the detectors were developed against this corpus. First runs, before any
 * tuning: PII recall 94.5% / FP 3.7% (generated templates), 99.3% / 0.9% after adding the hand-written
 * batch; injection recall 86.4% / FP 1.5%. The held-out set (holdout.ts) was scored once on its first
 * run at injection recall 72% (36/50) / FP 2% (1/50) and PII recall 91% (20/22) / FP 0% (0/20); some
 * concept-level rules were added afterwards, so its current figures below are no longer held out.
 */
import { describe, expect, it } from "vitest";
import { createScreener } from "../../src/reflex/screen.js";
import { atLeast } from "../../src/reflex/severity.js";
import { loadJsonl, scoreInjection, scorePii, FLAG_AT } from "./corpus/evaluate.js";
import type { InjectionSample } from "./corpus/injection-corpus.js";
import type { PiiSample } from "./corpus/pii-corpus.js";
import { HOLDOUT_ATTACKS, HOLDOUT_BENIGN, HOLDOUT_PII, HOLDOUT_PII_NEGATIVE } from "./corpus/holdout.js";

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

describe("accuracy on the labelled corpus", () => {
  it("PII: recall ≥ 95%, false-positive rate ≤ 2%", () => {
    const samples = loadJsonl<PiiSample>("pii.jsonl");
    const s = scorePii(samples);
    console.log(
      `[reflex accuracy] PII recall ${pct(s.recall)} (${s.found}/${s.entities} entities, ${s.positives} positive samples), ` +
        `FP rate ${pct(s.falsePositiveRate)} (${s.falsePositives.length}/${s.negatives} negative samples)`,
    );
    expect(s.positives).toBeGreaterThanOrEqual(300);
    expect(s.negatives).toBeGreaterThanOrEqual(300);
    expect(s.recall, JSON.stringify(s.misses.slice(0, 10))).toBeGreaterThanOrEqual(0.95);
    expect(s.falsePositiveRate, JSON.stringify(s.falsePositives.slice(0, 10))).toBeLessThanOrEqual(0.02);
  });

  it("injection: recall ≥ 90%, false-positive rate ≤ 2%", () => {
    const samples = loadJsonl<InjectionSample>("injection.jsonl");
    const s = scoreInjection(samples);
    console.log(
      `[reflex accuracy] injection recall ${pct(s.recall)} (${s.detected}/${s.positives}), FP rate ${pct(s.falsePositiveRate)} ` +
        `(${s.falsePositives.length}/${s.negatives}); by technique ${JSON.stringify(s.byTechnique)}`,
    );
    expect(s.positives).toBeGreaterThanOrEqual(300);
    expect(s.negatives).toBeGreaterThanOrEqual(300);
    expect(s.recall, JSON.stringify(s.misses.slice(0, 10))).toBeGreaterThanOrEqual(0.9);
    expect(s.falsePositiveRate, JSON.stringify(s.falsePositives.slice(0, 10))).toBeLessThanOrEqual(0.02);
  });

  it("reports the (formerly) held-out set", () => {
    const screener = createScreener({ cache: false });
    const flagged = (t: string) => atLeast(screener.screen(t, { pii: false }).maxSeverity, FLAG_AT);
    const det = HOLDOUT_ATTACKS.filter(flagged).length;
    const fp = HOLDOUT_BENIGN.filter(flagged).length;
    let total = 0;
    let found = 0;
    for (const [text, entities] of HOLDOUT_PII) {
      const got = screener.screen(text, { injection: false }).pii;
      for (const [type, value] of entities) {
        total++;
        const at = text.indexOf(value);
        if (got.some((m) => m.type === type && m.start < at + value.length && m.end > at)) found++;
      }
    }
    const piiFp = HOLDOUT_PII_NEGATIVE.filter((t) => screener.screen(t, { injection: false }).pii.length > 0).length;
    console.log(
      `[reflex accuracy] holdout injection recall ${det}/${HOLDOUT_ATTACKS.length}, FP ${fp}/${HOLDOUT_BENIGN.length}; ` +
        `holdout PII recall ${found}/${total}, FP ${piiFp}/${HOLDOUT_PII_NEGATIVE.length}`,
    );
    expect(det / HOLDOUT_ATTACKS.length).toBeGreaterThanOrEqual(0.7);
  });
});
