/**
 * Choosing what to download from a repo's file list. Pure: no I/O, so every rule is unit-tested.
 *
 * A "model" is one GGUF file, or the full set of shards of a split GGUF (`name-00001-of-00003.gguf`
 * ...): shards are always selected together, whatever named one of them.
 */
import { fileNotFound } from "./errors.js";

export interface RemoteFile {
  /** Path inside the repo, '/'-separated. */
  path: string;
  size: number;
  /** The Hub's LFS object id, which is the sha256 of the content; null for files not in LFS. */
  sha256: string | null;
  /** The git blob id (sha1 of "blob <size>\0" + content); what we verify when there is no LFS id. */
  gitOid: string;
}

export interface ModelGroup {
  /** The file a loader opens: the file itself, or the first shard. */
  main: string;
  files: RemoteFile[];
  size: number;
}

export interface FileSelection {
  file?: string;
  quant?: string;
  allow_patterns?: string[];
}

const SHARD = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

/**
 * When neither a file nor a quant is named, take the first of these present, as LM Studio and Ollama
 * do: Q4_K_M is the usual size/quality sweet spot, Q4_0 the older equivalent, Q8_0 near-lossless.
 * Failing all three, the smallest model, because it is the one most likely to fit in memory.
 */
export const DEFAULT_QUANT_PREFERENCE = ["Q4_K_M", "Q4_0", "Q8_0"] as const;

export function isGguf(path: string): boolean {
  return /\.gguf$/i.test(path);
}

/** Vision projectors ship as GGUF next to the model; they are never a model to pick by default. */
function isProjector(path: string): boolean {
  return /(^|\/)mmproj[^/]*$/i.test(path);
}

/** Groups files into models; every non-shard file is its own group. Throws if a shard set is incomplete. */
export function groupModels(files: RemoteFile[]): ModelGroup[] {
  const groups = new Map<string, RemoteFile[]>();
  for (const file of files) {
    const m = SHARD.exec(file.path);
    const key = m ? `${m[1]}\0${m[3]}` : `\0${file.path}`;
    groups.set(key, [...(groups.get(key) ?? []), file]);
  }
  const result: ModelGroup[] = [];
  for (const [key, members] of groups) {
    members.sort((a, b) => compare(a.path, b.path));
    if (!key.startsWith("\0")) checkShardsComplete(members);
    result.push({ main: members[0].path, files: members, size: members.reduce((s, f) => s + f.size, 0) });
  }
  return result.sort((a, b) => compare(a.main, b.main));
}

/** Code-point order: the same on every machine, whatever its locale. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function checkShardsComplete(shards: RemoteFile[]): void {
  const total = Number(SHARD.exec(shards[0].path)?.[3]);
  const have = new Set(shards.map((f) => Number(SHARD.exec(f.path)?.[2])));
  const missing: number[] = [];
  for (let i = 1; i <= total; i++) if (!have.has(i)) missing.push(i);
  if (missing.length > 0) {
    throw fileNotFound(`Split model '${shards[0].path}' is incomplete in the repo: missing shard(s) ${missing.join(", ")} of ${total}.`);
  }
}

/**
 * True when `quant` appears in the file name as a whole tag: case-insensitive, not preceded by a letter
 * or digit (so Q4_0 does not match IQ4_0) and not continued by more tag (so Q4_0 does not match Q4_0_4_4).
 */
export function matchesQuant(path: string, quant: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const escaped = quant.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![a-z0-9])${escaped}(?![a-z0-9]|_[a-z0-9])`, "i").test(name);
}

/** fnmatch-style glob ('*' and '?' also match '/', '[...]' classes), as huggingface_hub's allow_patterns. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close === -1) re += "\\[";
      else {
        let body = glob.slice(i + 1, close).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body}]`;
        i = close;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * Picks the models to download. `repoId` is only for messages.
 * - file: that exact path, or a unique file name anywhere in the repo; a shard brings its siblings.
 * - quant: the GGUF models whose name carries the tag; the smallest if several do.
 * - allow_patterns: every file any pattern matches (GGUF or not); a matched shard brings its siblings.
 * - none: the default rule (DEFAULT_QUANT_PREFERENCE, then smallest).
 */
export function selectModels(files: RemoteFile[], selection: FileSelection, repoId: string): ModelGroup[] {
  const groups = groupModels(files);
  const containing = (path: string) => groups.find((g) => g.files.some((f) => f.path === path));

  if (selection.file !== undefined) {
    const wanted = selection.file.replace(/^\/+/, "");
    let group = containing(wanted);
    if (!group) {
      const byName = files.filter((f) => f.path.slice(f.path.lastIndexOf("/") + 1) === wanted);
      if (byName.length === 1) group = containing(byName[0].path);
      else if (byName.length > 1) {
        throw fileNotFound(`'${wanted}' is ambiguous in '${repoId}': ${byName.map((f) => f.path).join(", ")}. Give the full path.`);
      }
    }
    if (!group) throw fileNotFound(`File '${wanted}' is not in '${repoId}'.${available(groups)}`);
    return [group];
  }

  if (selection.allow_patterns !== undefined) {
    const patterns = selection.allow_patterns.map(globToRegExp);
    const chosen = groups.filter((g) => g.files.some((f) => patterns.some((p) => p.test(f.path))));
    if (chosen.length === 0) {
      throw fileNotFound(`No file in '${repoId}' matches ${selection.allow_patterns.join(", ")}.${available(groups)}`);
    }
    return chosen;
  }

  const models = groups.filter((g) => isGguf(g.main) && !isProjector(g.main));
  if (models.length === 0) throw fileNotFound(`'${repoId}' has no GGUF model files.`);

  if (selection.quant !== undefined) {
    const quant = selection.quant;
    const matching = models.filter((g) => matchesQuant(g.main, quant));
    if (matching.length === 0) throw fileNotFound(`No GGUF file in '${repoId}' matches quant '${quant}'.${available(models)}`);
    return [smallest(matching)];
  }

  for (const quant of DEFAULT_QUANT_PREFERENCE) {
    const matching = models.filter((g) => matchesQuant(g.main, quant));
    if (matching.length > 0) return [smallest(matching)];
  }
  return [smallest(models)];
}

function smallest(groups: ModelGroup[]): ModelGroup {
  return groups.reduce((best, g) => (g.size < best.size ? g : best));
}

function available(groups: ModelGroup[]): string {
  const ggufs = groups.filter((g) => isGguf(g.main)).map((g) => g.main);
  if (ggufs.length === 0) return "";
  const shown = ggufs.slice(0, 20).join(", ");
  return ` Available: ${shown}${ggufs.length > 20 ? `, and ${ggufs.length - 20} more` : ""}.`;
}
