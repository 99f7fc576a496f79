/**
 * A model file as the admin API lists it (GET /admin/models `data[]`) and the CLI shows it when no
 * server runs: its file facts and what its GGUF header says, read once.
 */
import { readGgufSummary } from "./gguf-info.js";
import type { ModelFile } from "./registry.js";

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

/** The row for a model file, and its metadata (null when the header cannot be read). `loaded`: its instance, if any. */
export async function describeModelFile(
  file: ModelFile,
  loaded?: { state: string },
): Promise<{ row: ModelOnDisk; metadata: Record<string, unknown> | null }> {
  const base: ModelOnDisk = {
    id: file.id,
    path: file.path,
    files: file.files,
    size_bytes: file.sizeBytes,
    modified_at: new Date(file.modifiedAt).toISOString(),
    loaded: loaded !== undefined,
    state: loaded?.state ?? "not-loaded",
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
