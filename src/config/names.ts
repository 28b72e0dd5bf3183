/**
 * Kubernetes name rules, with messages that say what is wrong and suggest a
 * name that would pass. Names also end up in netns and device names, so
 * nothing outside these rules may get through.
 */
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_MAX = 63;
const SUBDOMAIN_MAX = 253;
/** A label key's name part and a label value (upper case, '_' and '.' allowed). */
const QUALIFIED = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** IANA service names: what Kubernetes requires of port names. */
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const PORT_NAME_MAX = 15;

/** The nearest valid label: lower case, runs of other characters to '-', trimmed to `max`. */
export function fixLabel(name: string, max = LABEL_MAX): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
}

function suggest(name: string, max: number): string {
  const fixed = fixLabel(name, max);
  return fixed && fixed !== name ? `; for example '${fixed}'` : '';
}

function labelWhy(name: string): string {
  if (/[A-Z]/.test(name)) return 'has upper-case letters';
  if (/^-|-$/.test(name)) return 'starts or ends with -';
  return 'has characters other than a-z, 0-9 and -';
}

/** Why `name` is not a DNS-1123 label of at most `max` characters; undefined when it is one. */
export function labelProblem(name: string, what: string, max = LABEL_MAX): string | undefined {
  if (name.length > max) return `${what} '${name}' is ${name.length} characters long; at most ${max} are allowed${suggest(name, max)}`;
  if (!LABEL.test(name)) {
    return `${what} '${name}' is not a DNS-1123 label (it ${labelWhy(name)}): use lower-case letters, digits and '-', starting and ending with a letter or digit${suggest(name, max)}`;
  }
  return undefined;
}

/** DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
export function subdomainProblem(name: string, what: string): string | undefined {
  const labels = name.split('.');
  if (name.length <= SUBDOMAIN_MAX && labels.every((l) => l.length <= LABEL_MAX && LABEL.test(l))) return undefined;
  const fixed = labels.map((l) => fixLabel(l)).filter(Boolean).join('.');
  return (
    `${what} '${name}' is not a DNS-1123 subdomain: dot-separated labels of lower-case letters, digits and '-', ` +
    `each starting and ending with a letter or digit, at most ${SUBDOMAIN_MAX} characters in all` +
    (fixed && fixed !== name ? `; for example '${fixed}'` : '')
  );
}

/** Kubernetes port names (IANA_SVC_NAME): Services refer to ports by them. */
export function portNameProblem(name: string, what: string): string | undefined {
  if (name.length <= PORT_NAME_MAX && PORT_NAME.test(name) && /[a-z]/.test(name) && !name.includes('--')) return undefined;
  return `${what} '${name}' is not a valid port name: at most ${PORT_NAME_MAX} lower-case letters, digits and '-', with at least one letter, no '--', starting and ending with a letter or digit`;
}

/** A label key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
export function labelKeyProblem(key: string, what: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix === '' || subdomainProblem(prefix, 'prefix'))) {
    return `${what}: label key '${key}' has an invalid prefix; the part before '/' must be a DNS subdomain such as example.com`;
  }
  if (name.length > LABEL_MAX || !QUALIFIED.test(name)) {
    return `${what}: label key '${key}' is not valid: the name part must be at most ${LABEL_MAX} letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

export function labelValueProblem(key: string, value: string, what: string): string | undefined {
  if (value === '' || (value.length <= LABEL_MAX && QUALIFIED.test(value))) return undefined;
  return `${what}: the value '${value}' of label '${key}' is not valid: at most ${LABEL_MAX} letters, digits, '-', '_' or '.', starting and ending with a letter or digit (or empty)`;
}

/** Label keys and values as Kubernetes accepts them: selectors match on them. */
export function checkLabels(labels: Record<string, string>, at: Cursor, what: string, r: Reader): void {
  for (const [key, value] of Object.entries(labels)) {
    const problem = labelKeyProblem(key, what) ?? labelValueProblem(key, value, what);
    if (problem) r.add('bad-value', at.keyRef(key), problem);
  }
}
