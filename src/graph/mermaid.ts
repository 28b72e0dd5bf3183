/**
 * The graph model as a Mermaid flowchart, for Markdown (GitHub renders it):
 * subgraphs for the clusters, hexagons for Services, dashed tunnels.
 * Mermaid ids must be plain words, so nodes are numbered in model order.
 */
import type { GraphEdge, GraphModel, GraphNode, GraphNodeKind } from './model.js';

/** Mermaid label text: quotes and angle brackets as entities, lines joined by <br/>. */
export function mermaidText(lines: string[]): string {
  return lines.map((l) => l.replace(/&/g, '&amp;').replace(/"/g, '#quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')).join('<br/>');
}

const OPEN_CLOSE: Record<GraphNodeKind, [string, string]> = {
  client: ['(', ')'],
  server: ['(', ')'],
  internet: ['[[', ']]'],
  lb: ['[[', ']]'],
  router: ['[[', ']]'],
  eth: ['[', ']'],
  bridge: ['[', ']'],
  tunnel: ['[/', '/]'],
  pod: ['([', '])'],
  'host-pod': ['([', '])'],
  service: ['{{', '}}'],
  'ingress-host': ['>', ']'],
};

const ARROWS: Record<GraphEdge['kind'], string> = {
  link: '---',
  veth: '---',
  route: '---',
  tunnel: '-.-',
  dnat: '-->',
  lb: '-->',
  ingress: '-->',
  cname: '-.->',
};

export function renderMermaid(g: GraphModel): string {
  const ids = new Map(g.nodes.map((n, i) => [n.id, `n${i}`]));
  const node = (n: GraphNode) => {
    const [open, close] = OPEN_CLOSE[n.kind];
    const lines = [...n.label, ...(n.differs ?? []).map((d) => `✗ ${d}`), ...(n.stop ? [`■ stopped: ${n.stop}`] : [])];
    return `${ids.get(n.id)}${open}"${mermaidText(lines)}"${close}`;
  };
  const out = ['flowchart TB', `  %% lab ${g.lab}: ${g.backend} pod network, kube-proxy ${g.proxyMode}`];
  g.clusters.forEach((c, i) => {
    out.push(`  subgraph c${i}["${mermaidText([c.label])}"]`);
    for (const n of g.nodes.filter((x) => x.cluster === c.id)) out.push(`    ${node(n)}`);
    out.push('  end');
  });
  for (const n of g.nodes.filter((x) => x.cluster === undefined)) out.push(`  ${node(n)}`);
  const pathEdges: number[] = [];
  g.edges.forEach((e, i) => {
    const label = e.label ? `|"${mermaidText([e.label])}"|` : '';
    out.push(`  ${ids.get(e.from) ?? 'missing'} ${ARROWS[e.kind]}${label} ${ids.get(e.to) ?? 'missing'}`);
    if (e.onPath) pathEdges.push(i);
  });
  out.push('  classDef differs stroke:#c00,stroke-width:3px,color:#c00;', '  classDef onpath stroke:#05c,stroke-width:3px;');
  const differs = g.nodes.filter((n) => n.differs?.length || n.stop).map((n) => ids.get(n.id));
  const onPath = g.nodes.filter((n) => n.onPath && !n.differs?.length && !n.stop).map((n) => ids.get(n.id));
  if (differs.length) out.push(`  class ${differs.join(',')} differs;`);
  if (onPath.length) out.push(`  class ${onPath.join(',')} onpath;`);
  if (pathEdges.length) out.push(`  linkStyle ${pathEdges.join(',')} stroke:#05c,stroke-width:3px;`);
  return `${out.join('\n')}\n`;
}
