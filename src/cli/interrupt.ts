/**
 * Ctrl-C (or SIGTERM) for a long command: the first one aborts the work, so it can clean up (cancel a
 * download, stop a stream, stop an embedded server); a second one exits at once. Returns the signal
 * and the function that stops listening.
 */
export function onInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
