/**
 * The models directory read directly, for when no server is running: the same fields the admin API
 * gives for a model on disk (GET /admin/models), so the commands render either source alike.
 */
import { readGgufSummary } from "../models/gguf-info.js";
import { ModelRegistry, type ModelFile } from "../models/registry.js";

/** A model on disk as GET /admin/models lists it (`data[]`). */
export interface ModelOnDisk {
  id: string;
  path: string;
  files: string[];
  size_bytes: number;
  modified_at: string;
  loaded: boolean;
  state: string;
  type?: "llm" | "embeddings";
  architecture?: string;
  quantization?: string;
  context_length?: number | null;
  parameters?: number | null;
  has_chat_template?: boolean;
  /** Set instead of the GGUF fields when the header cannot be read. */
  error?: string;
}

/** One model as GET /admin/models/{id} shows it: with every metadata key (bulk arrays summarised). */
export interface ModelDetail extends ModelOnDisk {
  metadata: Record<string, unknown> | null;
  status?: { state: string; parallel: number; context_size: number; memory_bytes: number | null } | null;
}

export async function listModelsOnDisk(modelsDir: string): Promise<ModelOnDisk[]> {
  const registry = new ModelRegistry(modelsDir);
  return Promise.all(registry.list().map(async (file) => (await describeFile(file)).row));
}

/** A model by id (or a .gguf path anywhere), or undefined. */
export async function findModelOnDisk(modelsDir: string, idOrPath: string): Promise<ModelDetail | undefined> {
  const file = new ModelRegistry(modelsDir).find(idOrPath);
  if (!file) return undefined;
  const { row, metadata } = await describeFile(file);
  return { ...row, metadata, status: null };
}

async function describeFile(file: ModelFile): Promise<{ row: ModelOnDisk; metadata: Record<string, unknown> | null }> {
  const base: ModelOnDisk = {
    id: file.id,
    path: file.path,
    files: file.files,
    size_bytes: file.sizeBytes,
    modified_at: new Date(file.modifiedAt).toISOString(),
    loaded: false,
    state: "not-loaded",
  };
  try {
    const gguf = await readGgufSummary(file.path);
    return {
      row: {
        ...base,
        type: gguf.type,
        architecture: gguf.architecture,
        quantization: gguf.quantization,
        context_length: gguf.contextLength,
        parameters: gguf.parameters,
        has_chat_template: gguf.hasChatTemplate,
      },
      metadata: gguf.metadata,
    };
  } catch (err) {
    return { row: { ...base, error: `unreadable GGUF: ${(err as Error).message}` }, metadata: null };
  }
}
