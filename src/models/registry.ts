import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";

export interface ModelFile {
  /** Stable id: the file stem at the top of the models directory, `org/repo/stem` under a hub layout. */
  id: string;
  /** First (or only) file of the model. */
  path: string;
  /** All files (split GGUF shards). */
  files: string[];
  sizeBytes: number;
  modifiedAt: number;
}

const shardPattern = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

/** File name without `.gguf`, and without the shard suffix for split models. */
export function modelStem(fileName: string): string {
  const shard = shardPattern.exec(fileName);
  if (shard) return shard[1];
  return fileName.replace(/\.gguf$/i, "");
}

/**
 * The models on disk: every .gguf under the models directory. Scanned on each call (directories are
 * small and files change under us: downloads, deletions); the hub layout `<org>/<repo>/<file>.gguf`
 * gives ids like `ggml-org/models/stories260K`. Vocabulary-only and partial (`.part`) files are skipped
 * by extension only; the runner refuses what it cannot load.
 */
export class ModelRegistry {
  constructor(readonly modelsDir: string) {}

  list(): ModelFile[] {
    if (!existsSync(this.modelsDir)) return [];
    const found: ModelFile[] = [];
    this.walk(this.modelsDir, 0, found);
    return found.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** A model by id, or by a path to a .gguf file anywhere on disk. */
  find(idOrPath: string): ModelFile | undefined {
    const byId = this.list().find((model) => model.id === idOrPath);
    if (byId) return byId;
    if (!/\.gguf$/i.test(idOrPath)) return undefined;
    const path = resolve(idOrPath);
    if (!existsSync(path) || !statSync(path).isFile()) return undefined;
    const inside = relative(this.modelsDir, path);
    const id = !inside.startsWith("..") && !inside.startsWith(sep) ? idFor(inside) : modelStem(basename(path));
    return fileEntry(id, [path]);
  }

  private walk(dir: string, depth: number, found: ModelFile[]): void {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const shards = new Map<string, string[]>();
    for (const entry of entries) {
      const path = join(dir, entry.name);
      // Symlinks are followed: people link models in from elsewhere.
      const kind = entry.isSymbolicLink() ? statKind(path) : entry.isDirectory() ? "dir" : entry.isFile() ? "file" : null;
      if (kind === "dir" && !entry.name.startsWith(".") && depth < 3) {
        this.walk(path, depth + 1, found);
      } else if (kind === "file" && /\.gguf$/i.test(entry.name)) {
        const shard = shardPattern.exec(entry.name);
        if (shard) {
          const list = shards.get(shard[1]) ?? [];
          list.push(path);
          shards.set(shard[1], list);
        } else {
          found.push(fileEntry(idFor(relative(this.modelsDir, path)), [path]));
        }
      }
    }
    for (const files of shards.values()) {
      files.sort();
      const expected = Number(shardPattern.exec(basename(files[0]))![3]);
      // An incomplete set of shards is not a model yet.
      if (files.length === expected) found.push(fileEntry(idFor(relative(this.modelsDir, files[0])), files));
    }
  }
}

function statKind(path: string): "dir" | "file" | null {
  try {
    const stat = statSync(path);
    return stat.isDirectory() ? "dir" : stat.isFile() ? "file" : null;
  } catch {
    return null; // a dangling link
  }
}

function idFor(relativePath: string): string {
  const parts = relativePath.split(sep);
  parts[parts.length - 1] = modelStem(parts[parts.length - 1]);
  return parts.join("/");
}

function fileEntry(id: string, files: string[]): ModelFile {
  let sizeBytes = 0;
  let modifiedAt = 0;
  for (const file of files) {
    const stat = statSync(file);
    sizeBytes += stat.size;
    modifiedAt = Math.max(modifiedAt, stat.mtimeMs);
  }
  return { id, path: files[0], files, sizeBytes, modifiedAt };
}
