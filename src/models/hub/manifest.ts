/**
 * One manifest per repo directory, `<modelsDir>/<org>/<repo>/lmx-manifest.json`: where each downloaded
 * model came from and the checksums it was verified against. The registry can read it to tell a
 * model's shards apart from separate models, and a re-pull uses it to skip files already in place.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

export const MANIFEST_FILE = "lmx-manifest.json";

export interface ManifestFile {
  /** Path inside the repo (and inside the repo directory). */
  path: string;
  size: number;
  sha256: string;
}

export interface ManifestModel {
  repo_id: string;
  /** The revision asked for ("main", a tag, a sha). */
  revision: string;
  /** The commit it resolved to, when the Hub said. */
  commit: string | null;
  /** The file to load: the model file, or the first of its shards. */
  main: string;
  files: ManifestFile[];
  /** Total bytes of `files`. */
  size: number;
  downloaded_at: string;
}

export interface RepoManifest {
  schema_version: 1;
  repo_id: string;
  /** Keyed by `main`. */
  models: Record<string, ManifestModel>;
}

export async function readManifest(repoDir: string): Promise<RepoManifest | null> {
  let text: string;
  try {
    text = await readFile(path.join(repoDir, MANIFEST_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as RepoManifest;
    return parsed && parsed.schema_version === 1 && typeof parsed.models === "object" ? parsed : null;
  } catch {
    // A damaged manifest only costs re-verification; the next write replaces it.
    return null;
  }
}

export interface ManifestWriter {
  /** Adds or replaces `model` in its repo's manifest, written atomically (temp file + rename). */
  record(repoDir: string, model: ManifestModel): Promise<void>;
}

/** Writes to one manifest are serialized: two jobs finishing different files of a repo must not lose one another's entry. */
export function createManifestWriter(): ManifestWriter {
  const queues = new Map<string, Promise<void>>();
  return {
    record(repoDir, model) {
      const previous = queues.get(repoDir) ?? Promise.resolve();
      const next = previous.catch(() => undefined).then(() => write(repoDir, model));
      queues.set(repoDir, next);
      void next.finally(() => {
        if (queues.get(repoDir) === next) queues.delete(repoDir);
      }).catch(() => undefined);
      return next;
    },
  };
}

/** Replaces a repo's manifest atomically (temp file + rename). */
export async function writeManifest(repoDir: string, manifest: RepoManifest): Promise<void> {
  await mkdir(repoDir, { recursive: true });
  const file = path.join(repoDir, MANIFEST_FILE);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, JSON.stringify(manifest, null, 2) + "\n");
  await rename(tmp, file);
}

async function write(repoDir: string, model: ManifestModel): Promise<void> {
  const manifest: RepoManifest = (await readManifest(repoDir)) ?? { schema_version: 1, repo_id: model.repo_id, models: {} };
  // A model whose files overlap this one's (an older download of the same files) is superseded.
  const paths = new Set(model.files.map((f) => f.path));
  for (const [key, existing] of Object.entries(manifest.models)) {
    if (existing.files.some((f) => paths.has(f.path))) delete manifest.models[key];
  }
  manifest.models[model.main] = model;
  await writeManifest(repoDir, manifest);
}
