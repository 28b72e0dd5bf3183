/** CIDR and address checks for the Lab document; all address math goes through ip-num. */
import { prefixLength } from '../util/addresses.js';
import { IPv4, IPv4CidrRange, IPv4Prefix, Validator } from '../util/ip-num.js';
import type { SourceRef } from '../spec/lab.js';
import type { ConfigProblem } from '../util/errors.js';

/** Ranges a lab network cannot use: the kernel or the host treats them specially. */
const SPECIAL = [
  { cidr: '0.0.0.0/8', why: '"this network"' },
  { cidr: '127.0.0.0/8', why: 'loopback' },
  { cidr: '169.254.0.0/16', why: 'link-local' },
  { cidr: '224.0.0.0/3', why: 'multicast and reserved' },
].map((s) => ({ ...s, range: IPv4CidrRange.fromCidr(s.cidr) }));

export type CidrResult = { range: IPv4CidrRange; problem?: undefined } | { range?: undefined; problem: string };

/** Parses an IPv4 network in CIDR form; host bits must be zero. */
export function parseCidr(text: unknown): CidrResult {
  const example = 'write an IPv4 network such as 10.244.0.0/16';
  if (typeof text !== 'string') return { problem: `${JSON.stringify(text)} is not a CIDR; ${example}` };
  const [ok] = Validator.isValidIPv4CidrNotation(text);
  if (!ok) return { problem: `'${text}' is not an IPv4 CIDR; ${example}` };
  const range = IPv4CidrRange.fromCidr(text);
  const [isNetwork] = Validator.isValidIPv4CidrRange(text);
  if (!isNetwork) {
    return { problem: `'${text}' has host bits set; write its network address ${range.getFirst().toString()}/${prefixLength(range)} instead` };
  }
  const special = SPECIAL.find((s) => s.range.isOverlapping(range));
  if (special) return { problem: `'${text}' overlaps ${special.cidr} (${special.why}), which the kernel handles specially; use a private range such as 10.0.0.0/8 or 192.168.0.0/16` };
  return { range };
}

export interface NamedRange {
  /** The field, e.g. spec.podNetwork.cidr. */
  field: string;
  text: string;
  range: IPv4CidrRange;
  /** Where the value is written; absent when it is a default. */
  source?: SourceRef;
}

function located(n: NamedRange): string {
  return `${n.field} ${n.text} (${n.source ? `line ${n.source.line}` : 'the default'})`;
}

/**
 * Every pair of overlapping networks is a problem, placed at the one the user
 * wrote (the later one when both are written): a lab's networks are routed
 * separately, so a shared address would be reachable two ways.
 */
export function overlapProblems(ranges: NamedRange[], fallback: SourceRef): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const a = ranges[i]!;
      const b = ranges[j]!;
      if (!a.range.isOverlapping(b.range)) continue;
      const at = !a.source ? b : !b.source ? a : a.source.line > b.source.line ? a : b;
      const other = at === a ? b : a;
      problems.push({
        code: 'cidr-overlap',
        source: at.source ?? fallback,
        message: `${located(at)} overlaps ${located(other)}; every network of the lab needs its own range`,
      });
    }
  }
  return problems;
}
