// Ctrl-C and SIGTERM: the first one aborts the build (children are killed, work areas dropped,
// the cache stays consistent); a second Ctrl-C exits at once.
export function interruptController(onFirst?: () => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    onFirst?.();
    controller.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
