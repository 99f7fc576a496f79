// Seeded, platform-independent random numbers for weights: the same spec must give the same bytes,
// so the cache key can be a hash of the spec and two machines agree on a file's sha256.

/** FNV-1a over a string: turns (seed, tensor name) into an independent stream per tensor. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** sfc32: small, fast, good enough statistically for test weights, and all 32-bit integer maths. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = seed >>> 0;
    for (let i = 0; i < 15; i++) this.nextU32(); // mix the seed in before use
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in (0, 1]: never 0, so log() below stays finite. */
  nextUnit(): number {
    return (this.nextU32() + 1) / 4294967296;
  }
}

export type Filler = (out: Float32Array) => void;

/**
 * Fills successive chunks with N(0, std²) values (Box–Muller). Stateful, so a tensor's values do
 * not depend on the chunk size the writer happens to use.
 */
export function normalFiller(seed: number, std: number): Filler {
  const rng = new Rng(seed);
  let spare: number | null = null;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      if (spare !== null) {
        out[i] = spare;
        spare = null;
        continue;
      }
      const r = std * Math.sqrt(-2 * Math.log(rng.nextUnit()));
      const theta = 2 * Math.PI * rng.nextUnit();
      out[i] = r * Math.cos(theta);
      spare = r * Math.sin(theta);
    }
  };
}

export function constantFiller(value: number): Filler {
  return (out) => out.fill(value);
}
