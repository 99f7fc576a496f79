import { realpathSync } from "node:fs";
import { readdir, rm, rmdir } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { invalidRequest } from "../errors.js";
import { MANIFEST_FILE, readManifest, writeManifest } from "./hub/manifest.js";

/**
 * Deletes a model's files — only inside the models directory (not a .gguf named by path elsewhere, nor
 * one reached through a symlinked directory) — and what they leave behind: their entries in the hub
 * manifest of their repo directory, and directories left empty, up to the models directory.
 */
export async function removeModelFiles(modelsDir: string, files: readonly string[]): Promise<void> {
  const root = realpathSync(modelsDir);
  for (const file of files) {
    const inside = relative(root, realDir(file));
    if (inside.startsWith("..") || isAbsolute(inside)) {
      throw invalidRequest(`'${file}' is not in the models directory ${modelsDir}; LMX only deletes files it manages.`, "model", "outside_models_dir");
    }
  }
  await Promise.all(files.map((file) => rm(file, { force: true })));

  const dirs = [...new Set(files.map((file) => dirname(file)))];
  for (const dir of dirs) await forgetInManifest(modelsDir, dir, files);
  for (const dir of dirs) await removeEmptyDirs(modelsDir, dir);
}

function realDir(file: string): string {
  try {
    return realpathSync(dirname(file));
  } catch {
    return dirname(file);
  }
}

/** The hub layout keeps one manifest in `<org>/<repo>/`; a file may sit deeper (tinyllamas/x.gguf). */
async function forgetInManifest(modelsDir: string, dir: string, deleted: readonly string[]): Promise<void> {
  const parts = relative(modelsDir, dir).split(sep);
  if (parts.length < 2 || parts[0] === "..") return;
  const repoDir = join(modelsDir, parts[0], parts[1]);
  const manifest = await readManifest(repoDir);
  if (!manifest) return;
  const gone = new Set(deleted.map((file) => relative(repoDir, file).split(sep).join("/")));
  let changed = false;
  for (const [key, model] of Object.entries(manifest.models)) {
    if (model.files.some((f) => gone.has(f.path))) {
      delete manifest.models[key];
      changed = true;
    }
  }
  if (!changed) return;
  if (Object.keys(manifest.models).length === 0) await rm(join(repoDir, MANIFEST_FILE), { force: true });
  else await writeManifest(repoDir, manifest);
}

async function removeEmptyDirs(modelsDir: string, from: string): Promise<void> {
  let dir = from;
  while (relative(modelsDir, dir) !== "" && !relative(modelsDir, dir).startsWith("..")) {
    const entries = await readdir(dir).catch(() => null);
    if (!entries || entries.length > 0) return;
    await rmdir(dir).catch(() => {});
    dir = dirname(dir);
  }
}
