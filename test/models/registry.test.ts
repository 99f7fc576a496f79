import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelRegistry, modelStem } from "../../src/models/registry.js";
import { testModelPath } from "../support/models.js";

describe("model registry", () => {
  it("gives stable ids: file stem at the top, org/repo/stem under a hub layout, one id per split model", () => {
    const dir = mkdtempSync(join(tmpdir(), "lmx-registry-"));
    writeFileSync(join(dir, "plain.gguf"), "x");
    writeFileSync(join(dir, "notes.txt"), "x");
    mkdirSync(join(dir, "org/repo"), { recursive: true });
    writeFileSync(join(dir, "org/repo/model-Q4_K_M.gguf"), "xx");
    writeFileSync(join(dir, "org/repo/model-Q4_K_M.gguf.part"), "partial");
    for (const n of [1, 2]) writeFileSync(join(dir, `org/repo/big-0000${n}-of-00002.gguf`), "y");
    for (const n of [1]) writeFileSync(join(dir, `org/repo/incomplete-0000${n}-of-00003.gguf`), "y");
    symlinkSync(testModelPath("stories260K"), join(dir, "linked.gguf"));
    const registry = new ModelRegistry(dir);
    const ids = registry.list().map((m) => m.id);
    expect(ids).toEqual(["linked", "org/repo/big", "org/repo/model-Q4_K_M", "plain"]);
    const big = registry.find("org/repo/big")!;
    expect(big.files).toHaveLength(2);
    expect(big.sizeBytes).toBe(2);
    expect(registry.find(testModelPath("stories260K"))!.id).toBe("stories260K");
    expect(registry.find(join(dir, "plain.gguf"))!.id).toBe("plain");
    expect(registry.find("nope")).toBeUndefined();
    expect(new ModelRegistry(join(dir, "missing")).list()).toEqual([]);
  });

  it("strips .gguf and shard suffixes", () => {
    expect(modelStem("a.gguf")).toBe("a");
    expect(modelStem("a-00001-of-00004.gguf")).toBe("a");
    expect(modelStem("A.GGUF")).toBe("A");
  });
});
