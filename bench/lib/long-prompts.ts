import { seededRandom } from "../../src/seeded-random.js";
import type { BenchModel } from "./bench-models.js";

const names = ["Lily", "Tom", "Mia", "Ben", "Sue", "Max", "Anna", "Sam", "Lucy", "Tim", "Zoe", "Jack"];
const things = ["a red ball", "a big tree", "a small dog", "a shiny box", "a blue kite", "an old boat", "a warm cake", "a toy car", "a little bird", "a soft hat"];
const places = ["the park", "the garden", "the beach", "the forest", "the kitchen", "the school", "the river", "the hill"];
const verbs = ["found", "saw", "wanted", "shared", "lost", "made", "liked", "carried", "painted", "hid"];
const feelings = ["happy", "sad", "surprised", "proud", "scared", "sleepy", "excited", "kind"];

/**
 * A prompt of exactly `length` tokens (BOS included when the model wants one): children's-story
 * sentences picked by a seeded generator, so the same seed gives the same tokens and two seeds share
 * at most their first few tokens (a new seed is a cold prompt for the prefix cache).
 * Sent as a token array, so its length does not depend on how text at a boundary would tokenize.
 */
export function storyPrompt(model: BenchModel, length: number, seed: number): number[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const tokens: number[] = model.bos === null ? [] : [model.bos];
  while (tokens.length < length) {
    let paragraph = "";
    for (let i = 0; i < 8; i++) {
      paragraph += `${pick(names)} ${pick(verbs)} ${pick(things)} in ${pick(places)} and felt ${pick(feelings)}. `;
    }
    // The tokenizer puts a space before each text it is given: paragraphs join as "… happy. Tom …".
    tokens.push(...model.tokenize(paragraph.trimEnd()));
  }
  return tokens.slice(0, length);
}

/** Tokens of a short text to append to a token prompt (no BOS; the tokenizer adds the leading space). */
export function suffixTokens(model: BenchModel, text: string): number[] {
  return model.tokenize(text);
}
