/**
 * `graph`: the lab's model drawn in the format asked for. A running lab is
 * drawn with what its kernel says now (`check`'s differences, the agent's
 * readiness for the endpoints); a lab file alone with its plan.
 */
import { agentStatus, podReadyFrom } from '../agent/client.js';
import { labDir } from '../apply/state.js';
import { checkLab } from '../check/index.js';
import type { Plan } from '../model/types.js';
import { renderDot } from './dot.js';
import { renderHtml } from './html.js';
import { renderMermaid } from './mermaid.js';
import { graphOf, type GraphHighlight, type GraphModel } from './model.js';
import { renderSvg } from './svg.js';

export const GRAPH_FORMATS = ['mermaid', 'dot', 'svg', 'html', 'json'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export async function renderGraph(g: GraphModel, format: GraphFormat): Promise<string> {
  switch (format) {
    case 'mermaid':
      return renderMermaid(g);
    case 'dot':
      return renderDot(g);
    case 'svg':
      return renderSvg(g);
    case 'html':
      return renderHtml(g, await renderSvg(g));
    case 'json':
      return `${JSON.stringify(g, null, 2)}\n`;
  }
}

/** The graph of a running lab: the plan, marked with every difference `check` finds and with the pods the agent holds ready. */
export async function liveGraph(plan: Plan, highlight?: GraphHighlight): Promise<{ model: GraphModel; differences: number }> {
  const [report, status] = await Promise.all([checkLab(plan), agentStatus(labDir(plan.lab)).catch(() => undefined)]);
  const ready = status ? podReadyFrom(status) : () => true;
  return { model: graphOf(plan, { ready, differences: report.differences, ...(highlight ? { highlight } : {}) }), differences: report.differences.length };
}
