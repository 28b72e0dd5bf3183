/**
 * The grader's verdict, from what was measured: pure, so its three
 * conditions are unit-tested on recorded inputs. An exercise passes only
 * when (a) the symptom is gone (its own probes pass), (b) the root cause is
 * repaired (every object the fault touched is as the plan says again) and
 * (c) nothing else is broken (`check` clean, `verify` green). A rebuilt lab
 * fails outright: the fault went away with everything else.
 */
import { differenceLine, type Difference } from '../check/compare.js';

export interface ProbeOutcome {
  ok: boolean;
  detail: string;
}

export interface GradeInput {
  exercise: string;
  /** The lab was made again (`up`) since the exercise started: when, if so. */
  rebuiltAt?: string;
  symptom: ProbeOutcome[];
  /** What `check` reported right after the fault was injected. */
  fault: readonly Difference[];
  /** What `check` reports now. */
  differences: readonly Difference[];
  /** `verify`'s failures, when it ran (it runs once `check` is clean). */
  verify?: { passed: number; failed: string[] };
}

export interface Condition {
  name: 'symptom' | 'root cause' | 'nothing else broken' | 'lab';
  ok: boolean;
  /** What holds, or what is still wrong: the probe, the object, the path. */
  lines: string[];
}

export interface Grade {
  passed: boolean;
  conditions: Condition[];
}

/**
 * Two differences are about the same object when place and object agree;
 * the problem may have changed, and so may the component a built-in chain's
 * differing rules are put down to.
 */
export const sameObject = (a: Difference, b: Difference): boolean => a.place === b.place && a.object === b.object;

export function grade(input: GradeInput): Grade {
  if (input.rebuiltAt) {
    return {
      passed: false,
      conditions: [
        {
          name: 'lab',
          ok: false,
          lines: [`the lab was rebuilt (kube-netlab up, ${input.rebuiltAt}) after the exercise started: the fault went away with every other object, which repairs nothing. Start again: kube-netlab exercise start ${input.exercise}`],
        },
      ],
    };
  }
  const failing = input.symptom.filter((p) => !p.ok);
  const symptom: Condition = failing.length
    ? { name: 'symptom', ok: false, lines: ['the symptom is still there:', ...failing.map((p) => `  ${p.detail}`)] }
    : { name: 'symptom', ok: true, lines: [`the symptom is gone: ${input.symptom.length} probe(s) pass`] };
  const still = input.differences.filter((d) => input.fault.some((f) => sameObject(f, d)));
  const cause: Condition = still.length
    ? { name: 'root cause', ok: false, lines: ['the root cause is not repaired:', ...still.map((d) => `  ${differenceLine(d)}`)] }
    : { name: 'root cause', ok: true, lines: [`the root cause is repaired: ${input.fault.length} object(s) as the plan says again`] };
  const others = input.differences.filter((d) => !input.fault.some((f) => sameObject(f, d)));
  const lines: string[] = [];
  if (others.length) lines.push(`check: ${others.length} other object(s) differ from the plan (a workaround, or something broken on the way):`, ...others.map((d) => `  ${differenceLine(d)}`));
  if (input.verify?.failed.length) lines.push(`verify: ${input.verify.failed.length} path check(s) fail:`, ...input.verify.failed.map((f) => `  ${f}`));
  const verified = input.verify !== undefined && input.verify.failed.length === 0;
  const ok = !others.length && verified;
  const rest: Condition = ok
    ? { name: 'nothing else broken', ok: true, lines: [`nothing else is broken: check clean, verify ${input.verify!.passed} passed`] }
    : { name: 'nothing else broken', ok: false, lines: lines.length ? lines : ['not judged yet: verify runs once check is clean'] };
  return { passed: symptom.ok && cause.ok && rest.ok, conditions: [symptom, cause, rest] };
}

export function gradeLines(g: Grade): string[] {
  return g.conditions.flatMap((c) => c.lines.map((l, i) => (i === 0 ? `${c.ok ? 'ok  ' : 'FAIL'}  ${l}` : `      ${l}`)));
}
