import { describe, expect, it } from "vitest";
import { chunkDocument, type Chunk, type DocumentFormat } from "../../src/octo/retriever/chunking.js";
import { resolveFormat } from "../../src/octo/retriever/document-format.js";
import { seededRandom } from "../../src/seeded-random.js";

const WORDS = [
  "the", "garden", "compiler", "orbit", "bread", "café", "naïve", "日本語", "🙂", "👩‍🚀", "x", "supercalifragilistic",
  "a", "of", "function", "return", "{", "}", "(", ")", "=>", "#", "##", "```", "-", "*", "1.", "2024", "é",
];
const SEPARATORS = [" ", " ", " ", " ", ". ", "! ", "? ", "\n", "\n\n", "\n\n\n", "\t", "  ", ".\n", "。"];

function randomProse(next: () => number, length: number): string {
  let out = "";
  while (out.length < length) {
    out += WORDS[Math.floor(next() * WORDS.length)];
    out += SEPARATORS[Math.floor(next() * SEPARATORS.length)];
    if (next() < 0.02) out += "y".repeat(Math.floor(next() * 300)); // a word longer than a chunk
  }
  return out;
}

function randomMarkdown(next: () => number, length: number): string {
  let out = next() < 0.5 ? randomProse(next, 40) : "";
  while (out.length < length) {
    const depth = 1 + Math.floor(next() * 4);
    out += `${"#".repeat(depth)} Heading ${Math.floor(next() * 100)}\n`;
    if (next() < 0.2) continue; // a heading with nothing under it
    out += "\n" + randomProse(next, next() * 400) + "\n\n";
    if (next() < 0.2) out += "```python\n# not a heading\ndef f():\n    return 1\n```\n\n";
  }
  return out;
}

function randomCode(next: () => number, length: number): string {
  const lines = [
    "export function add(a: number, b: number): number {", "  return a + b;", "}", "", "def main():", "    pass",
    "class Foo:", "// a comment", "/** doc */", "@decorator", "const x = 1;", "    if (x) { y(); }", "fn main() {",
    "func Run() error {", "public static void main(String[] args) {", "\t\treturn nil", "",
  ];
  let out = "";
  while (out.length < length) {
    if (next() < 0.03) out += "const long = " + "'z'+".repeat(Math.floor(next() * 120)) + "1;\n";
    else out += lines[Math.floor(next() * lines.length)] + "\n";
  }
  return next() < 0.5 ? out : out.trimEnd();
}

/** Checks the chunker's documented guarantees on one case; returns a description of the first violation. */
function checkProperties(text: string, format: DocumentFormat, maxChars: number, overlapChars: number, chunks: Chunk[]): string | null {
  if (text.length === 0) return chunks.length === 0 ? null : "chunks for empty text";
  if (chunks.length === 0) return "no chunks";
  if (chunks[0].start !== 0) return "first chunk does not start at 0";
  if (chunks[chunks.length - 1].end !== text.length) return "last chunk does not end at text.length";
  for (const [i, chunk] of chunks.entries()) {
    if (chunk.index !== i) return `chunk ${i} has index ${chunk.index}`;
    if (chunk.text !== text.slice(chunk.start, chunk.end)) return `chunk ${i} text is not the slice of its offsets`;
    if (chunk.end <= chunk.start) return `chunk ${i} is empty`;
    const length = chunk.end - chunk.start;
    if (length > maxChars) {
      // The one documented exception: a code line longer than maxChars, alone in its chunk.
      const body = chunk.text.endsWith("\n") ? chunk.text.slice(0, -1) : chunk.text;
      const lineStart = chunk.start === 0 || text[chunk.start - 1] === "\n";
      if (format !== "code" || body.includes("\n") || !lineStart) return `chunk ${i} has ${length} > ${maxChars} chars`;
    }
    if (format === "code") {
      if (!(chunk.start === 0 || text[chunk.start - 1] === "\n")) return `code chunk ${i} starts mid-line`;
      if (!(chunk.end === text.length || text[chunk.end - 1] === "\n")) return `code chunk ${i} ends mid-line`;
    }
    if (i > 0) {
      const prev = chunks[i - 1];
      if (chunk.start > prev.end) return `gap between chunks ${i - 1} and ${i}`;
      if (chunk.start <= prev.start || chunk.end <= prev.end) return `chunk ${i} does not advance`;
      if (prev.end - chunk.start > overlapChars) return `chunks ${i - 1} and ${i} overlap by ${prev.end - chunk.start} > ${overlapChars}`;
      if (format === "markdown" && chunk.heading !== prev.heading && chunk.start !== prev.end) {
        return `overlap across markdown sections at chunk ${i}`;
      }
    }
    const code = text.charCodeAt(chunk.end - 1);
    if (format !== "code" && chunk.end < text.length && code >= 0xd800 && code <= 0xdbff) return `chunk ${i} splits a surrogate pair`;
  }
  return null;
}

describe("chunkDocument properties", () => {
  const generators: Record<DocumentFormat, (next: () => number, length: number) => string> = {
    text: randomProse,
    markdown: randomMarkdown,
    code: randomCode,
  };
  for (const format of ["text", "markdown", "code"] as const) {
    it(`${format}: covers every character, respects maxChars and overlap, is deterministic`, () => {
      for (let seed = 1; seed <= 300; seed++) {
        const next = seededRandom(seed * 7919 + format.length);
        const text = generators[format](next, Math.floor(next() * 4000));
        const maxChars = 16 + Math.floor(next() * 600);
        const overlapChars = Math.floor(next() * (Math.floor(maxChars / 2) + 1));
        const chunks = chunkDocument({ text, format }, { maxChars, overlapChars });
        const violation = checkProperties(text, format, maxChars, overlapChars, chunks);
        expect(violation, `seed ${seed}, maxChars ${maxChars}, overlap ${overlapChars}`).toBeNull();
        expect(chunkDocument({ text, format }, { maxChars, overlapChars })).toEqual(chunks);
      }
    });
  }

  it("overlaps consecutive chunks when there is a boundary to overlap at", () => {
    const text = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} talks about things.`).join(" ");
    const chunks = chunkDocument({ text, format: "text" }, { maxChars: 200, overlapChars: 50 });
    expect(chunks.length).toBeGreaterThan(5);
    for (let i = 1; i < chunks.length; i++) {
      const overlap = chunks[i - 1].end - chunks[i].start;
      expect(overlap).toBeGreaterThan(0);
      expect(overlap).toBeLessThanOrEqual(50);
      // The overlap starts at a word boundary.
      expect(text[chunks[i].start - 1]).toBe(" ");
    }
  });
});

describe("chunkDocument boundaries", () => {
  it("returns one chunk for a short text and none for an empty one", () => {
    expect(chunkDocument({ text: "", format: "text" }, { maxChars: 100, overlapChars: 10 })).toEqual([]);
    expect(chunkDocument({ text: "Hello.", format: "text" }, { maxChars: 100, overlapChars: 10 })).toEqual([
      { index: 0, text: "Hello.", start: 0, end: 6 },
    ]);
  });

  it("cuts text at paragraphs before sentences", () => {
    const p1 = "First paragraph sentence one. Sentence two is here.";
    const p2 = "Second paragraph, which is also fairly short. It ends.";
    const text = `${p1}\n\n${p2}`;
    const chunks = chunkDocument({ text, format: "text" }, { maxChars: 80, overlapChars: 0 });
    expect(chunks.map((c) => c.text)).toEqual([`${p1}\n\n`, p2]);
  });

  it("cuts a paragraph at sentence ends when it is too long", () => {
    const text = "Alpha beta gamma delta. Epsilon zeta eta theta. Iota kappa lambda mu. Nu xi omicron pi.";
    const chunks = chunkDocument({ text, format: "text" }, { maxChars: 50, overlapChars: 0 });
    for (const chunk of chunks.slice(0, -1)) expect(chunk.text).toMatch(/\. $/);
  });

  it("splits markdown at headings and records the heading path", () => {
    const text = [
      "Intro line.",
      "",
      "# Guide",
      "",
      "Welcome to the guide.",
      "",
      "## Install",
      "### Linux",
      "",
      "Use the package manager.",
      "",
      "```sh",
      "# this is a shell comment, not a heading",
      "apt install lmx",
      "```",
      "",
      "## Usage",
      "",
      "Run it.",
      "",
    ].join("\n");
    const chunks = chunkDocument({ text, format: "markdown" }, { maxChars: 1000, overlapChars: 100 });
    expect(chunks.map((c) => [c.heading, c.text.split("\n")[0]])).toEqual([
      [undefined, "Intro line."],
      ["Guide", "# Guide"],
      // "## Install" has nothing under it before "### Linux", so it travels with Linux's section.
      ["Guide > Install > Linux", "## Install"],
      ["Guide > Usage", "## Usage"],
    ]);
    expect(chunks[2].text).toContain("# this is a shell comment, not a heading");
    expect(chunks.map((c) => c.text).join("")).toBe(text);
  });

  it("cuts code at top-level declarations, keeping their doc comments", () => {
    const fnA = "/** Adds. */\nexport function add(a: number, b: number): number {\n  return a + b;\n}\n";
    const fnB = "// Subtracts.\nexport function sub(a: number, b: number): number {\n  const r = a - b;\n  return r;\n}\n";
    const text = `${fnA}${fnB}`;
    const chunks = chunkDocument({ text, format: "code", language: "typescript" }, { maxChars: 120, overlapChars: 0 });
    expect(chunks.map((c) => c.text)).toEqual([fnA, fnB]);
  });

  it("puts a code line longer than maxChars alone in its chunk instead of splitting it", () => {
    const long = `const data = "${"x".repeat(200)}";\n`;
    const text = `const a = 1;\nconst b = 2;\n${long}const c = 3;\n`;
    const chunks = chunkDocument({ text, format: "code" }, { maxChars: 64, overlapChars: 20 });
    expect(chunks.some((c) => c.text === long)).toBe(true);
    expect(chunks.map((c) => c.text).join("")).toContain(long);
  });

  it("hard-cuts a word longer than maxChars in text, without splitting surrogate pairs", () => {
    const text = "🙂".repeat(40);
    const chunks = chunkDocument({ text, format: "text" }, { maxChars: 17, overlapChars: 0 });
    for (const chunk of chunks) {
      expect(chunk.text.length).toBeLessThanOrEqual(17);
      expect(chunk.text.length % 2).toBe(0);
    }
    expect(chunks.map((c) => c.text).join("")).toBe(text);
  });

  it("rejects options that cannot work", () => {
    expect(() => chunkDocument({ text: "x", format: "text" }, { maxChars: 4, overlapChars: 0 })).toThrow(/maxChars/);
    expect(() => chunkDocument({ text: "x", format: "text" }, { maxChars: 100, overlapChars: 60 })).toThrow(/overlapChars/);
  });
});

describe("resolveFormat", () => {
  it("infers markdown and code from the source's extension, text otherwise", () => {
    expect(resolveFormat("docs/README.md")).toEqual({ format: "markdown" });
    expect(resolveFormat("src/app.ts")).toEqual({ format: "code", language: "typescript" });
    expect(resolveFormat("https://example.com/x.py?raw=1")).toEqual({ format: "code", language: "python" });
    expect(resolveFormat("notes.txt")).toEqual({ format: "text" });
    expect(resolveFormat(undefined)).toEqual({ format: "text" });
    expect(resolveFormat("a.md", "text")).toEqual({ format: "text" });
    expect(resolveFormat(undefined, undefined, "rust")).toEqual({ format: "code", language: "rust" });
  });
});
