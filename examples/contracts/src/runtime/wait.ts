/**
 * Resolves once `condition` returns true, checking every `intervalMs`; rejects after
 * `timeoutMs` with `description` in the message. For waiting on state that other
 * processes or queues change, never as a fixed sleep.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  description: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}${why}.`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
