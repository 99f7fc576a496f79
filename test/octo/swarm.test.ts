// Swarm aggregation: majority for discrete answers, confidence-weighted similarity for free text,
// and when the vote is contested enough to ask the judge.
import { describe, expect, it } from "vitest";
import { aggregate, cosine, spreadTemperatures, termVector } from "../../src/octo/swarm.js";

describe("aggregate", () => {
  it("counts discrete answers by majority, ignoring case and trailing punctuation", () => {
    const vote = aggregate([{ text: "Yes", discrete: "Yes" }, { text: "no", discrete: "no" }, { text: "yes.", discrete: "yes." }], 0.5);
    expect(vote.winner).toBe(0);
    expect(vote.consensus).toEqual({ method: "majority", level: 2 / 3, proposals: 3, winner: 0 });
    expect(vote.contested).toEqual([]);
  });

  it("picks the most confident member of the winning group", () => {
    const vote = aggregate([{ text: "a", discrete: "a", confidence: 0.2 }, { text: "a", discrete: "a", confidence: 0.9 }, { text: "b", discrete: "b", confidence: 1 }], 0.5);
    expect(vote.winner).toBe(1);
  });

  it("marks a tie, or a weak majority, as contested", () => {
    expect(aggregate([{ text: "a", discrete: "a" }, { text: "b", discrete: "b" }], 0.5).contested).toEqual([0, 1]);
    expect(aggregate([{ text: "a", discrete: "a" }, { text: "b", discrete: "b" }, { text: "c", discrete: "c" }], 0.5).contested).toEqual([0, 1, 2]);
  });

  it("votes free text by similarity, weighted by confidence", () => {
    const texts = ["the cat sat on the mat", "a cat sat on the mat", "stock prices fell sharply today"];
    const vote = aggregate(texts.map((text) => ({ text })), 0.2);
    expect(vote.consensus.method).toBe("similarity");
    expect([0, 1]).toContain(vote.winner);
    expect(vote.consensus.level).toBeGreaterThan(0.3);
    expect(vote.contested).toEqual([]);
    // A confident outlier pair outweighs unconfident agreement.
    const weighted = aggregate(
      [
        { text: "the cat sat on the mat", confidence: 0.01 },
        { text: "a cat sat on the mat", confidence: 0.01 },
        { text: "stock prices fell sharply today", confidence: 1 },
        { text: "stock prices fell sharply", confidence: 1 },
      ],
      0,
    );
    expect([2, 3]).toContain(weighted.winner);
  });

  it("contests a similarity vote where nothing agrees", () => {
    const vote = aggregate([{ text: "alpha beta" }, { text: "gamma delta" }, { text: "epsilon zeta" }], 0.5);
    expect(vote.consensus.level).toBe(0);
    expect(vote.contested).toHaveLength(3);
  });

  it("never picks an empty proposal", () => {
    expect(aggregate([{ text: "" }, { text: "" }, { text: "real answer" }], 0).winner).toBe(2);
  });
});

describe("helpers", () => {
  it("term vectors with word pairs tell negation apart", () => {
    expect(cosine(termVector("it is safe"), termVector("it is safe"))).toBeCloseTo(1);
    expect(cosine(termVector("it is safe"), termVector("it is not safe"))).toBeLessThan(0.8);
  });

  it("spreads temperatures evenly and within 0..2", () => {
    expect(spreadTemperatures(0.7, 3, 0.3)).toEqual([0.39999999999999997, 0.7, 1]);
    expect(spreadTemperatures(0.1, 3, 0.3)[0]).toBe(0);
    expect(spreadTemperatures(0.5, 1, 0.3)).toEqual([0.5]);
  });
});
