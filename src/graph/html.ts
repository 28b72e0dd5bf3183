/**
 * One self-contained HTML file: the SVG inline, the differences `check`
 * found and the traced path listed under it. No script, no external file.
 */
import type { GraphModel } from './model.js';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderHtml(g: GraphModel, svg: string): string {
  const differs = g.nodes.filter((n) => n.differs?.length);
  const stops = g.nodes.filter((n) => n.stop);
  const list = (items: string[]) => (items.length ? `<ul>\n${items.map((i) => `<li>${escape(i)}</li>`).join('\n')}\n</ul>` : '');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>kube-netlab ${escape(g.lab)}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
svg { max-width: 100%; height: auto; }
.differs { color: #c00; }
</style>
</head>
<body>
<h1>lab ${escape(g.lab)}</h1>
<p>${escape(`${g.backend} pod network, kube-proxy ${g.proxyMode}: ${g.nodes.filter((n) => n.kind === 'pod' || n.kind === 'host-pod').length} pods, ${g.nodes.filter((n) => n.kind === 'service').length} services`)}</p>
${svg.replace(/^<\?xml[^>]*>\n?/, '').replace(/<!DOCTYPE[^>]*>\n?/, '')}
${differs.length ? `<h2 class="differs">Differences from the plan</h2>\n${list(differs.flatMap((n) => n.differs!.map((d) => `${n.label[0]}: ${d}`)))}` : ''}
${stops.length ? `<h2 class="differs">Traced packet stopped</h2>\n${list(stops.map((n) => `${n.label[0]}: ${n.stop}`))}` : ''}
</body>
</html>
`;
}
