/**
 * Hints come one tier per call: where to look, then which commands show
 * it, then what to compare it with. Pure; the count given so far is kept
 * with the running exercise.
 */
export interface HintStep {
  /** The lines to print. */
  lines: string[];
  /** How many tiers have been given after this call. */
  given: number;
}

const TIERS = ['where to look', 'what shows it', 'what to compare it with'];

export function nextHint(hints: readonly [string, string, string], given: number): HintStep {
  if (given >= hints.length) {
    return {
      given,
      lines: [...hints.map((h, i) => `hint ${i + 1}/3 (${TIERS[i]}): ${h}`), 'that was the last hint; `kube-netlab exercise solve` applies the reference fix and prints it'],
    };
  }
  return { given: given + 1, lines: [`hint ${given + 1}/3 (${TIERS[given]}): ${hints[given]}`, ...(given + 1 < hints.length ? ['(kube-netlab exercise hint gives the next one)'] : [])] };
}
