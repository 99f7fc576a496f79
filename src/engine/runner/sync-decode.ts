import type { LlamaContext } from "node-llama-cpp";

/**
 * Largest batch decoded on the runner's own thread. Generation steps are this small (one token per
 * generating sequence, plus a few drafted ones with speculative decoding); prompts larger than this
 * still decode on libuv's worker thread, so the runner keeps answering its API process during them.
 */
export const syncDecodeMaxTokens = 16;

/** The native context of node-llama-cpp, as far as this module touches it. */
interface NativeContext {
  setSyncDecodeMaxTokens?: (maxTokens: number) => void;
}

/**
 * Lets node-llama-cpp decode small batches, and sample their tokens, on the calling (JavaScript)
 * thread instead of handing each step to a libuv worker thread and waiting for it to come back.
 * On the CPU each generated token then costs no thread hand-over: llama.cpp's own server works the
 * same way. The method comes from LMX's patch to node-llama-cpp's addon source (`patches/`), so only
 * a local build of the addon has it (`npx --no node-llama-cpp source download`); the prebuilt
 * binaries do not, and then nothing changes. Returns whether the binary in use supports it.
 *
 * A runner process holds one model, so its thread has nothing else to do while it decodes.
 */
export function enableSyncDecode(context: LlamaContext, maxTokens = syncDecodeMaxTokens): boolean {
  // node-llama-cpp keeps its native context in a private field; the patch adds the method to it.
  const native = (context as unknown as { _ctx?: NativeContext })._ctx;
  if (typeof native?.setSyncDecodeMaxTokens !== "function") return false;
  native.setSyncDecodeMaxTokens(maxTokens);
  return true;
}
