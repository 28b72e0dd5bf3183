/**
 * The DNS fields of a pod spec: `hostname`, `subdomain`, `dnsPolicy` and
 * `dnsConfig`, checked as the API server validates them, since they end up
 * in the pod's /etc/hosts, its /etc/resolv.conf and the cluster DNS.
 */
import type { DnsPolicy, PodDnsConfig, PodSpec } from '../spec/lab.js';
import { parseIPv4 } from '../util/addresses.js';
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';
import { labelProblem, subdomainProblem } from './names.js';

export const DNS_POLICIES: readonly DnsPolicy[] = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];
/** The API server's limits on dnsConfig (the resolver's own limits, in glibc since 2.26). */
export const DNS_CONFIG_LIMITS = { nameservers: 3, searches: 32, searchChars: 2048 };

export type PodDnsFields = Pick<PodSpec, 'hostname' | 'subdomain' | 'dnsPolicy' | 'dnsConfig'>;

function label(spec: Cursor, key: string, what: string, r: Reader): string | undefined {
  const c = spec.get(key);
  const v = r.string(c, `${what}: spec.${key}`);
  if (v === undefined) return undefined;
  const problem = labelProblem(v, `${what}: spec.${key}`);
  if (problem) {
    r.add('bad-name', c.ref, problem);
    return undefined;
  }
  return v;
}

export function readPodDns(spec: Cursor, what: string, r: Reader): PodDnsFields {
  const out: PodDnsFields = { dnsPolicy: r.oneOf(spec.get('dnsPolicy'), `${what}: spec.dnsPolicy`, DNS_POLICIES) ?? 'ClusterFirst' };
  const hostname = label(spec, 'hostname', what, r);
  if (hostname !== undefined) out.hostname = hostname;
  const subdomain = label(spec, 'subdomain', what, r);
  if (subdomain !== undefined) out.subdomain = subdomain;

  const configC = spec.get('dnsConfig');
  const config = configC.exists ? readDnsConfig(configC, what, r) : undefined;
  if (config) out.dnsConfig = config;
  if (out.dnsPolicy === 'None' && (!configC.exists || config?.nameservers.length === 0)) {
    r.add(
      'missing-field',
      spec.get('dnsPolicy').ref,
      `${what}: dnsPolicy None takes the whole resolv.conf from spec.dnsConfig, which must list at least one nameserver, e.g. dnsConfig: {nameservers: [10.96.0.10], searches: [default.svc.cluster.local]}`,
    );
  }
  return out;
}

function readDnsConfig(c: Cursor, what: string, r: Reader): PodDnsConfig | undefined {
  const where = `${what}: spec.dnsConfig`;
  if (!r.map(c, where)) return undefined;
  r.strict(c, ['nameservers', 'searches', 'options'], where);
  const problems = r.problems.length;

  const nameservers: string[] = [];
  const nsList = r.list(c.get('nameservers'), `${where}.nameservers`);
  for (const n of nsList) {
    const ip = r.string(n, `${where}.nameservers[]`);
    if (ip === undefined) continue;
    if (parseIPv4(ip) === undefined) {
      r.add('bad-value', n.ref, `${where}.nameservers: '${ip}' is not an IPv4 address (the lab is IPv4 only)`);
      continue;
    }
    nameservers.push(ip);
  }
  if (nsList.length > DNS_CONFIG_LIMITS.nameservers) {
    r.add('bad-value', c.get('nameservers').ref, `${where}.nameservers lists ${nsList.length} servers; at most ${DNS_CONFIG_LIMITS.nameservers} are allowed (the resolver reads no more)`);
  }

  const searches: string[] = [];
  const searchList = r.list(c.get('searches'), `${where}.searches`);
  for (const s of searchList) {
    const domain = r.string(s, `${where}.searches[]`);
    if (domain === undefined) continue;
    const problem = subdomainProblem(domain.replace(/\.$/, ''), `${where}.searches`);
    if (problem) r.add('bad-value', s.ref, problem);
    else searches.push(domain);
  }
  if (searchList.length > DNS_CONFIG_LIMITS.searches) {
    r.add('bad-value', c.get('searches').ref, `${where}.searches lists ${searchList.length} domains; at most ${DNS_CONFIG_LIMITS.searches} are allowed`);
  }
  const chars = searches.join(' ').length;
  if (chars > DNS_CONFIG_LIMITS.searchChars) {
    r.add('bad-value', c.get('searches').ref, `${where}.searches is ${chars} characters long; at most ${DNS_CONFIG_LIMITS.searchChars} are allowed`);
  }

  const options: PodDnsConfig['options'] = [];
  for (const o of r.list(c.get('options'), `${where}.options`)) {
    if (!r.map(o, `${where}.options[]`)) continue;
    r.strict(o, ['name', 'value'], `${where}.options[]`);
    if (!r.required(o.get('name'), `${where}.options[].name`, ", e.g. {name: ndots, value: '2'}")) continue;
    const name = r.string(o.get('name'), `${where}.options[].name`);
    if (name === undefined) continue;
    if (!/^[A-Za-z0-9_-]+$/.test(name)) {
      r.add('bad-value', o.get('name').ref, `${where}.options: '${name}' is not a resolver option name (letters, digits, '-' and '_')`);
      continue;
    }
    const valueC = o.get('value');
    // Manifests often write numbers unquoted; the API takes the value as a string.
    const value = typeof valueC.value === 'number' ? String(valueC.value) : r.string(valueC, `${where}.options[].value`);
    if (value !== undefined && !/^[A-Za-z0-9_.:-]+$/.test(value)) {
      r.add('bad-value', valueC.ref, `${where}.options: the value '${value}' of option ${name} has characters a resolver option cannot hold`);
      continue;
    }
    options.push(value === undefined ? { name } : { name, value });
  }
  if (r.problems.length > problems) return undefined;
  return { nameservers, searches, options };
}
