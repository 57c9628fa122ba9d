// Polling for the integration suites: a probe is asked until it returns a value or the time is up.
export const WAIT_MS = 30_000;

/**
 * The first value `probe` returns (undefined: not yet), asked every `intervalMs` for up to
 * WAIT_MS; then throws "timed out waiting for WHAT", with `context()`'s JSON when given.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, context?: () => Promise<unknown>, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context ? `; ${JSON.stringify(await context())}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
