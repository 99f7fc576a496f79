/**
 * The models directory read directly, for when no server is running: the same fields the admin API
 * gives for a model on disk (GET /admin/models), so the commands render either source alike.
 */
import { describeModelFile, type ModelOnDisk } from "../models/model-file-info.js";
import { ModelRegistry } from "../models/registry.js";

export type { ModelOnDisk };

/** One model as GET /admin/models/{id} shows it: with every metadata key (bulk arrays summarised). */
export interface ModelDetail extends ModelOnDisk {
  metadata: Record<string, unknown> | null;
  status?: { state: string; parallel: number; context_size: number; memory_bytes: number | null } | null;
}

export async function listModelsOnDisk(modelsDir: string): Promise<ModelOnDisk[]> {
  const registry = new ModelRegistry(modelsDir);
  return Promise.all(registry.list().map(async (file) => (await describeModelFile(file)).row));
}

/** A model by id (or a .gguf path anywhere), or undefined. */
export async function findModelOnDisk(modelsDir: string, idOrPath: string): Promise<ModelDetail | undefined> {
  const file = new ModelRegistry(modelsDir).find(idOrPath);
  if (!file) return undefined;
  const { row, metadata } = await describeModelFile(file);
  return { ...row, metadata, status: null };
}
