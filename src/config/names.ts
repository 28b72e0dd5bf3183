/** Kubernetes name rules (RFC 1123), with messages that suggest a valid name. */

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A lab name prefixes every namespace name of the lab, so it is kept short. */
export const LAB_NAME_MAX = 24;

function suggestion(name: string, max: number): string {
  const fixed = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return fixed && fixed !== name ? ` (for example '${fixed}')` : '';
}

/** Why `name` is not a DNS-1123 label of at most `max` characters, or undefined when it is one. */
export function labelProblem(name: unknown, what: string, max = 63): string | undefined {
  if (typeof name !== 'string' || name === '') return `${what} must be a non-empty string`;
  if (name.length > max) return `${what} '${name}' is ${name.length} characters; at most ${max} are allowed${suggestion(name, max)}`;
  if (!LABEL.test(name)) {
    return `${what} '${name}' is not a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit${suggestion(name, max)}`;
  }
  return undefined;
}

/** DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
export function subdomainProblem(name: unknown, what: string): string | undefined {
  if (typeof name !== 'string' || name === '') return `${what} must be a non-empty string`;
  if (name.length > 253 || !name.split('.').every((l) => LABEL.test(l) && l.length <= 63)) {
    return `${what} '${name}' is not a DNS-1123 subdomain (dot-separated lower-case labels, e.g. legacy.example.net)`;
  }
  return undefined;
}
