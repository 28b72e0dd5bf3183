/**
 * Restart backoff of a container, the kubelet's CrashLoopBackOff scaled down
 * for a lab: 1 s, doubling up to 10 s. A container that then stays up for
 * a while is forgiven and starts again from 1 s.
 */

export const BACKOFF_INITIAL_MS = 1000;
export const BACKOFF_MAX_MS = 10_000;
/** Running this long without failing resets the backoff (the kubelet uses twice its maximum too). */
export const BACKOFF_RESET_AFTER_MS = 2 * BACKOFF_MAX_MS;

/** Delay before restart number `step` (0-based) of a run of consecutive failures. */
export function backoffDelay(step: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.min(step, 30));
}

/**
 * The delay before the next restart and the step to remember for the one
 * after, given the steps taken so far and how long the container last ran.
 */
export function nextBackoff(steps: number, ranForMs: number): { delayMs: number; steps: number } {
  const step = ranForMs >= BACKOFF_RESET_AFTER_MS ? 0 : steps;
  return { delayMs: backoffDelay(step), steps: step + 1 };
}
