/**
 * The graph model as Graphviz DOT: a cluster per node and for the internet,
 * the Services and the Ingress hosts; tunnels dashed, DNAT edges directed.
 * Deterministic: the same model gives the same text.
 */
import type { GraphEdge, GraphModel, GraphNode, GraphNodeKind } from './model.js';

const SHAPES: Record<GraphNodeKind, string> = {
  client: 'box, style="rounded"',
  server: 'box, style="rounded"',
  internet: 'box3d',
  lb: 'box3d',
  router: 'box3d',
  eth: 'box',
  bridge: 'box, style="filled", fillcolor="#e8eef7"',
  tunnel: 'parallelogram',
  pod: 'box, style="rounded,filled", fillcolor="#eef7e8"',
  'host-pod': 'box, style="rounded,dashed"',
  service: 'hexagon, style="filled", fillcolor="#fdf3dc"',
  'ingress-host': 'note',
};

const EDGE_STYLES: Record<GraphEdge['kind'], string> = {
  link: 'dir=none',
  veth: 'dir=none',
  route: 'dir=none, color="#777777"',
  tunnel: 'dir=none, style=dashed, color="#3366aa"',
  dnat: 'dir=back, color="#aa6600"',
  lb: 'constraint=false, color="#aa6600"',
  ingress: 'color="#886699"',
  cname: 'constraint=false, style=dotted',
};

/** A DOT string literal. */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function nodeLine(n: GraphNode): string {
  const lines = [...n.label, ...(n.differs ?? []).map((d) => `✗ ${d}`), ...(n.stop ? [`■ stopped: ${n.stop}`] : [])];
  const attrs = [`label=${dotString(lines.join('\n'))}`, `shape=${SHAPES[n.kind]}`];
  if (n.differs?.length || n.stop) attrs.push('color="#cc0000"', 'penwidth=2.5', 'fontcolor="#cc0000"');
  else if (n.onPath) attrs.push('color="#0055cc"', 'penwidth=2.5');
  return `${dotString(n.id)} [${attrs.join(', ')}];`;
}

function edgeLine(e: GraphEdge): string {
  const attrs = [EDGE_STYLES[e.kind]];
  if (e.label) attrs.push(`label=${dotString(e.label)}`);
  if (e.onPath) attrs.push('color="#0055cc"', 'penwidth=3');
  // An Ingress host hangs below the controller's Service; its paths to the backends do not pull the layout.
  if (e.kind === 'ingress' && e.from.startsWith('ingress:')) attrs.push('constraint=false');
  // Services sit below the pods they send to: the DNAT edge is laid out pod -> Service and drawn back.
  const [a, b] = e.kind === 'dnat' ? [e.to, e.from] : [e.from, e.to];
  return `${dotString(a)} -> ${dotString(b)} [${attrs.join(', ')}];`;
}

export function renderDot(g: GraphModel): string {
  const out = [
    `digraph ${dotString(`kube-netlab ${g.lab}`)} {`,
    `  label=${dotString(`lab ${g.lab}: ${g.backend} pod network, kube-proxy ${g.proxyMode}`)};`,
    '  labelloc=t; rankdir=TB; compound=true; newrank=true;',
    '  node [fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=8];',
  ];
  for (const c of g.clusters) {
    if (c.id === 'services') {
      // Services are no place in the network: one row under the pods, no box around them.
      out.push('  {', '    rank=same;');
      for (const n of g.nodes.filter((x) => x.cluster === c.id)) out.push(`    ${nodeLine(n)}`);
      out.push('  }');
      continue;
    }
    out.push(`  subgraph ${dotString(`cluster_${c.id}`)} {`, `    label=${dotString(c.label)}; style="rounded"; color="#999999";`);
    for (const n of g.nodes.filter((x) => x.cluster === c.id)) out.push(`    ${nodeLine(n)}`);
    out.push('  }');
  }
  for (const n of g.nodes.filter((x) => x.cluster === undefined)) out.push(`  ${nodeLine(n)}`);
  for (const e of g.edges) out.push(`  ${edgeLine(e)}`);
  out.push('}');
  return `${out.join('\n')}\n`;
}
