/**
 * The differences between the objects the plan decides and the kernel
 * state read back: pure, so it is tested on recorded states. It compares
 * what the plan decides (a link's kind, master, MTU, up, addresses, routes,
 * permanent neighbour and fdb entries, sysctls) and leaves alone what
 * legitimately moves (counters, learned entries, conntrack). Routes the
 * plan does not have (`ip route add` by hand) are differences too, except
 * the ones the kernel makes for an address.
 */
import type { KernelState, NetnsState } from './kernel.js';
import { normaliseDst, type KernelObject, type LinkObject, type Owned, type RouteObject } from '../components/objects.js';

export interface Difference {
  /** The node, `pod <ns>/<name>`, or the internet-side role. */
  place: string;
  component: string;
  /** The object, as a user names it: `route 10.244.1.0/24`, `link cbr0`, `sysctl net.ipv4.ip_forward`. */
  object: string;
  /** What is wrong: `missing (expected ...)`, `mtu 1500 (expected 1450)`. */
  problem: string;
}

export function differenceLine(d: Difference): string {
  return `${d.place}  ${d.component}  ${d.object}: ${d.problem}`;
}

function describeRoute(r: { via?: string | undefined; dev?: string | undefined; onlink?: boolean | undefined }): string {
  return [r.via ? `via ${r.via}` : '', r.dev ? `dev ${r.dev}` : '', r.onlink ? 'onlink' : ''].filter(Boolean).join(' ') || 'direct';
}

function checkLink(want: LinkObject, ns: NetnsState): string[] {
  const got = ns.links.find((l) => l.ifname === want.name);
  const expect = [want.type !== 'unknown' ? want.type : '', want.master ? `master ${want.master}` : '', want.mtu ? `mtu ${want.mtu}` : '', want.up ? 'up' : ''].filter(Boolean).join(', ');
  if (!got) return [`missing${expect ? ` (expected ${expect})` : ''}`];
  const problems: string[] = [];
  const kind = got.linkinfo?.info_kind;
  if (want.type !== 'unknown' && kind !== want.type) problems.push(`kind ${kind ?? 'none'} (expected ${want.type})`);
  if (want.mtu !== undefined && got.mtu !== want.mtu) problems.push(`mtu ${got.mtu} (expected ${want.mtu})`);
  if (want.master !== undefined && got.master !== want.master) problems.push(got.master ? `master ${got.master} (expected ${want.master})` : `not attached to ${want.master}`);
  if (want.up && !(got.flags ?? []).includes('UP')) problems.push('down (expected up)');
  if (want.promisc && !((got as { promiscuity?: number }).promiscuity ?? 0)) problems.push('promiscuous mode off (expected on)');
  // Off a bridge a port has no hairpin setting at all: the master line says it.
  if (want.hairpin !== undefined && (want.master === undefined || got.master === want.master) && got.linkinfo?.info_slave_data?.hairpin !== want.hairpin) problems.push(`hairpin ${got.linkinfo?.info_slave_data?.hairpin ? 'on' : 'off'} (expected ${want.hairpin ? 'on' : 'off'})`);
  if (want.address !== undefined && got.address?.toLowerCase() !== want.address.toLowerCase()) problems.push(`address ${got.address} (expected ${want.address})`);
  if (want.vxlan) {
    const d = got.linkinfo?.info_data ?? {};
    if (d.id !== want.vxlan.id) problems.push(`VNI ${String(d.id)} (expected ${want.vxlan.id})`);
    if (d.local !== want.vxlan.local) problems.push(`local ${String(d.local)} (expected ${want.vxlan.local})`);
    if (d.port !== want.vxlan.port) problems.push(`port ${String(d.port)} (expected ${want.vxlan.port})`);
  }
  return problems;
}

function kernelRoutes(ns: NetnsState): (RouteObject & { protocol?: string })[] {
  return ns.routes
    .filter((r) => (r.type ?? 'unicast') === 'unicast')
    .map((r) => ({ kind: 'route', netns: '', dst: normaliseDst(r.dst), ...(r.gateway ? { via: r.gateway } : {}), ...(r.dev ? { dev: r.dev } : {}), ...((r.flags ?? []).includes('onlink') ? { onlink: true } : {}), ...(r.protocol ? { protocol: r.protocol } : {}) }));
}

function checkObject(want: KernelObject, ns: NetnsState): { object: string; problems: string[] } {
  switch (want.kind) {
    case 'link':
      return { object: `link ${want.name}`, problems: checkLink(want, ns) };
    case 'address': {
      const [ip, prefix] = want.address.split('/');
      const got = ns.addrs.filter((a) => a.ifname === want.dev).flatMap((a) => a.addr_info ?? []).find((i) => i.local === ip && String(i.prefixlen) === (prefix ?? '32'));
      const object = `address ${want.address} on ${want.dev}`;
      if (!got) return { object, problems: ['missing'] };
      // Its on-link route is the kernel's own, which the route comparison leaves alone: the flag says whether there is one.
      const flag = (on: boolean | undefined) => (on ? 'noprefixroute' : 'with its on-link route');
      return { object, problems: Boolean(got.noprefixroute) === Boolean(want.noprefixroute) ? [] : [`${flag(got.noprefixroute)} (expected ${flag(want.noprefixroute)})`] };
    }
    case 'route': {
      const got = kernelRoutes(ns).find((r) => r.dst === want.dst);
      const object = `route ${want.dst}`;
      if (!got) return { object, problems: [`missing (expected ${describeRoute(want)})`] };
      const differs = (want.via !== undefined && got.via !== want.via) || (want.dev !== undefined && got.dev !== want.dev);
      return { object, problems: differs ? [`${describeRoute(got)} (expected ${describeRoute(want)})`] : [] };
    }
    case 'neighbour': {
      const got = ns.neighbours.find((n) => n.dst === want.ip && n.dev === want.dev);
      const object = `neighbour ${want.ip} on ${want.dev}`;
      if (!got) return { object, problems: [`missing (expected lladdr ${want.mac} permanent)`] };
      return { object, problems: got.lladdr?.toLowerCase() === want.mac.toLowerCase() ? [] : [`lladdr ${got.lladdr} (expected ${want.mac})`] };
    }
    case 'fdb': {
      const entries = ns.fdb.filter((f) => f.mac.toLowerCase() === want.mac.toLowerCase() && (f.ifname ?? want.dev) === want.dev);
      const object = `fdb entry ${want.mac} on ${want.dev}`;
      const expected = `${want.mac} dst ${want.dst} self permanent`;
      if (entries.length === 0) return { object, problems: [`missing (expected ${expected})`] };
      // A second remote for the MAC floods every frame to both nodes: a stale entry next to the right one is still drift.
      const others = entries.filter((f) => f.dst !== want.dst);
      if (others.length < entries.length) return { object, problems: others.length ? [`also dst ${others.map((f) => f.dst ?? 'none').join(', ')} (expected only ${expected})`] : [] };
      return { object, problems: [`dst ${entries.map((f) => f.dst ?? 'none').join(', ')} (expected ${expected})`] };
    }
    case 'sysctl': {
      const got = ns.sysctls[want.key];
      return { object: `sysctl ${want.key}`, problems: got === want.value ? [] : [`${got === '' || got === undefined ? 'unreadable' : got} (expected ${want.value})`] };
    }
  }
}

/** Every difference, in the order of the expected objects, then the routes no component planned. */
export function compare(expected: readonly Owned[], kernel: KernelState, places: ReadonlyMap<string, string>): Difference[] {
  const out: Difference[] = [];
  const place = (netns: string) => places.get(netns) ?? netns;
  const missingNs = new Set<string>();
  for (const { component, object } of expected) {
    const ns = kernel[object.netns];
    if (!ns?.exists) {
      if (!missingNs.has(object.netns)) out.push({ place: place(object.netns), component, object: `namespace ${object.netns}`, problem: 'missing' });
      missingNs.add(object.netns);
      continue;
    }
    const r = checkObject(object, ns);
    for (const problem of r.problems) out.push({ place: place(object.netns), component, object: r.object, problem });
  }
  // Routes nobody planned: an `ip route add` by hand (the kernel's own, for addresses, are left alone).
  const planned = new Map<string, Set<string>>();
  for (const { object } of expected) if (object.kind === 'route') planned.set(object.netns, (planned.get(object.netns) ?? new Set()).add(object.dst));
  for (const [netns, ns] of Object.entries(kernel)) {
    if (!ns.exists) continue;
    for (const r of kernelRoutes(ns)) {
      if (r.protocol === 'kernel' || planned.get(netns)?.has(r.dst)) continue;
      out.push({ place: place(netns), component: 'routes', object: `route ${r.dst}`, problem: `not in the plan (${describeRoute(r)})` });
    }
  }
  return out;
}
