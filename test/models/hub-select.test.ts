import { describe, expect, it } from "vitest";
import { LmxError } from "../../src/errors.js";
import { parseDownloadRequest, parsePullSpec, requestKey } from "../../src/models/hub/request.js";
import { globToRegExp, groupModels, matchesQuant, type RemoteFile, selectModels } from "../../src/models/hub/select-files.js";

const file = (path: string, size = 100): RemoteFile => ({ path, size, sha256: "0".repeat(64), gitOid: "0".repeat(40) });
const pick = (files: RemoteFile[], sel: Parameters<typeof selectModels>[1] = {}) =>
  selectModels(files, sel, "org/repo").map((g) => g.files.map((f) => f.path));

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    if (err instanceof LmxError) return `${err.status} ${err.code}`;
    throw err;
  }
  return null;
}

describe("quant matching", () => {
  it("matches a whole tag, case-insensitively", () => {
    expect(matchesQuant("Llama-3-8B-Q4_K_M.gguf", "q4_k_m")).toBe(true);
    expect(matchesQuant("llama-3-8b.q4_k_m.gguf", "Q4_K_M")).toBe(true);
    expect(matchesQuant("model-Q4_K_M-00001-of-00002.gguf", "Q4_K_M")).toBe(true);
    expect(matchesQuant("Q4_K_M/model-00001-of-00002.gguf", "Q4_K_M")).toBe(false); // the file name, not the folder
  });

  it("does not match a tag inside a longer one", () => {
    expect(matchesQuant("model-IQ4_XS.gguf", "Q4_XS")).toBe(false);
    expect(matchesQuant("model-Q4_0_4_4.gguf", "Q4_0")).toBe(false);
    expect(matchesQuant("model-Q4_K_L.gguf", "Q4_K")).toBe(false);
    expect(matchesQuant("model-BF16.gguf", "F16")).toBe(false);
  });
});

describe("model selection", () => {
  const repo = [
    file("model-Q2_K.gguf", 50),
    file("model-Q4_0.gguf", 80),
    file("model-Q4_K_M.gguf", 90),
    file("model-Q8_0.gguf", 150),
    file("mmproj-model-f16.gguf", 10),
    file("README.md", 5),
  ];

  it("prefers Q4_K_M, then Q4_0, then Q8_0, then the smallest model (never a projector)", () => {
    expect(pick(repo)).toEqual([["model-Q4_K_M.gguf"]]);
    expect(pick(repo.filter((f) => !f.path.includes("Q4_K_M")))).toEqual([["model-Q4_0.gguf"]]);
    expect(pick(repo.filter((f) => !/Q4_/.test(f.path)))).toEqual([["model-Q8_0.gguf"]]);
    expect(pick(repo.filter((f) => !/Q4_|Q8_/.test(f.path)))).toEqual([["model-Q2_K.gguf"]]);
  });

  it("takes an explicit quant, and reports what exists when it is missing", () => {
    expect(pick(repo, { quant: "q8_0" })).toEqual([["model-Q8_0.gguf"]]);
    expect(codeOf(() => pick(repo, { quant: "Q5_K_M" }))).toBe("404 file_not_found");
    try {
      pick(repo, { quant: "Q5_K_M" });
    } catch (err) {
      expect((err as Error).message).toContain("model-Q4_K_M.gguf");
    }
  });

  it("takes an explicit file by path or by unique name", () => {
    const nested = [file("a/model-Q4_K_M.gguf"), file("b/model-Q8_0.gguf"), file("a/dup.gguf"), file("b/dup.gguf")];
    expect(pick(nested, { file: "b/model-Q8_0.gguf" })).toEqual([["b/model-Q8_0.gguf"]]);
    expect(pick(nested, { file: "model-Q8_0.gguf" })).toEqual([["b/model-Q8_0.gguf"]]);
    expect(codeOf(() => pick(nested, { file: "dup.gguf" }))).toBe("404 file_not_found");
    expect(codeOf(() => pick(nested, { file: "nope.gguf" }))).toBe("404 file_not_found");
  });

  it("keeps split models together, whichever shard is named", () => {
    const split = [
      file("big-Q4_K_M-00002-of-00003.gguf", 100),
      file("big-Q4_K_M-00001-of-00003.gguf", 100),
      file("big-Q4_K_M-00003-of-00003.gguf", 10),
      file("small-Q8_0.gguf", 200),
    ];
    const shards = ["big-Q4_K_M-00001-of-00003.gguf", "big-Q4_K_M-00002-of-00003.gguf", "big-Q4_K_M-00003-of-00003.gguf"];
    expect(pick(split)).toEqual([shards]);
    expect(pick(split, { file: "big-Q4_K_M-00003-of-00003.gguf" })).toEqual([shards]);
    expect(pick(split, { allow_patterns: ["*00002-of-*"] })).toEqual([shards]);
    // The smallest-model rule weighs a split model by all its shards (210), not its first (100).
    expect(pick(split.map((f) => ({ ...f, path: f.path.replace("Q4_K_M", "Q5_K_M").replace("Q8_0", "Q6_K") })))).toEqual([
      ["small-Q6_K.gguf"],
    ]);
    expect(groupModels(split)[0].size).toBe(210);
  });

  it("refuses a split model with a shard missing", () => {
    expect(codeOf(() => pick([file("m-00001-of-00002.gguf")]))).toBe("404 file_not_found");
  });

  it("downloads every file allow_patterns matches, GGUF or not", () => {
    expect(pick(repo, { allow_patterns: ["*.md", "*Q8_0*"] })).toEqual([["README.md"], ["model-Q8_0.gguf"]]);
    expect(codeOf(() => pick(repo, { allow_patterns: ["*.safetensors"] }))).toBe("404 file_not_found");
  });

  it("says so when a repo has no GGUF", () => {
    expect(codeOf(() => pick([file("model.safetensors")]))).toBe("404 file_not_found");
  });
});

describe("globs", () => {
  it("follows fnmatch: '*' crosses '/', classes work, dots are literal", () => {
    expect(globToRegExp("*.gguf").test("dir/model.gguf")).toBe(true);
    expect(globToRegExp("*.gguf").test("model.ggufx")).toBe(false);
    expect(globToRegExp("model-Q[48]_0.gguf").test("model-Q8_0.gguf")).toBe(true);
    expect(globToRegExp("model-Q[!48]_0.gguf").test("model-Q8_0.gguf")).toBe(false);
    expect(globToRegExp("a.b").test("axb")).toBe(false);
  });
});

describe("requests", () => {
  it("parses the CLI's ORG/REPO[:TAG]", () => {
    expect(parsePullSpec("ggml-org/models")).toEqual({ repo_id: "ggml-org/models" });
    expect(parsePullSpec("org/repo:Q4_K_M")).toEqual({ repo_id: "org/repo", quant: "Q4_K_M" });
    expect(parsePullSpec("org/repo:sub/model.gguf")).toEqual({ repo_id: "org/repo", file: "sub/model.gguf" });
    expect(parsePullSpec("hf.co/org/repo:q8_0", "v1")).toEqual({ repo_id: "org/repo", quant: "q8_0", revision: "v1" });
    expect(parsePullSpec("https://huggingface.co/org/repo")).toEqual({ repo_id: "org/repo" });
  });

  it("rejects bad input with a 400 naming the field", () => {
    for (const bad of [{ repo_id: "no-slash" }, { repo_id: "../etc" }, { repo_id: "a/.." }, { repo_id: "a/b", file: "x", quant: "Q4_0" }, {}]) {
      expect(codeOf(() => parseDownloadRequest(bad))).toBe("400 null");
    }
    try {
      parseDownloadRequest({ repo_id: "a/b/c" });
    } catch (err) {
      expect((err as LmxError).param).toBe("repo_id");
    }
  });

  it("gives identical requests one key", () => {
    expect(requestKey({ repo_id: "Org/Repo", quant: "q4_k_m" })).toBe(requestKey({ repo_id: "org/repo", revision: "main", quant: "Q4_K_M" }));
    expect(requestKey({ repo_id: "org/repo" })).not.toBe(requestKey({ repo_id: "org/repo", quant: "Q8_0" }));
  });
});
