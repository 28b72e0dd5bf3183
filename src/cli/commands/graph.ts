/**
 * `graph [--name N] [-f FILE]... [-o mermaid|dot|svg|html|json] [--out FILE]
 * [--trace SRC DST]`: the lab as a picture. A running lab is drawn with what
 * its kernel says now; `-f` of a lab that is not up draws its plan alone.
 * Text goes to stdout unless --out is given; the format follows --out's
 * extension when -o is not.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { checkEnvironment } from '../../apply/environment.js';
import { readPlan, readRecord } from '../../apply/state.js';
import { loadLab } from '../../config/index.js';
import { GRAPH_FORMATS, liveGraph, renderGraph, type GraphFormat } from '../../graph/index.js';
import { graphOf, type GraphModel } from '../../graph/model.js';
import { planLab } from '../../model/plan.js';
import { flag, flagList, has, usageError, type ParsedArgs } from '../args.js';
import { out, printNotices, progress } from '../output.js';
import { requirePlan, resolveLabName } from '../resolve.js';

const BY_EXTENSION: Record<string, GraphFormat> = { '.mmd': 'mermaid', '.md': 'mermaid', '.dot': 'dot', '.gv': 'dot', '.svg': 'svg', '.html': 'html', '.htm': 'html', '.json': 'json' };

function formatOf(args: ParsedArgs): GraphFormat {
  const o = flag(args, 'output');
  const file = flag(args, 'out');
  if (o === undefined) return (file && BY_EXTENSION[extname(file).toLowerCase()]) || 'mermaid';
  if (!(GRAPH_FORMATS as readonly string[]).includes(o)) throw usageError(`graph -o ${o}: choose one of ${GRAPH_FORMATS.join(', ')}`);
  return o as GraphFormat;
}

export async function graphCommand(args: ParsedArgs): Promise<number> {
  const format = formatOf(args);
  const files = flagList(args, 'file');
  const name = flag(args, 'name');
  const traced = has(args, 'trace');
  if (traced && args.positionals.length !== 2) throw usageError('graph --trace SRC DST: give the source and the destination, as to `trace`');
  if (!traced && args.positionals.length) throw usageError(`graph takes no arguments (got ${args.positionals.join(' ')}); --trace SRC DST highlights a path`);
  const lab = resolveLabName({ ...(name ? { name } : {}), files });
  const running = readPlan(lab) !== undefined && readRecord(lab)?.phase === 'ready';
  let model: GraphModel;
  if (!running && files.length) {
    if (traced) throw usageError(`graph --trace needs the lab running: lab '${lab}' is not up`);
    const spec = loadLab(files);
    printNotices(spec.notices);
    model = graphOf(planLab(spec));
  } else {
    checkEnvironment(traced ? ['ip', 'bridge', 'nsenter', 'nft', 'curl'] : ['ip', 'bridge', 'nsenter']);
    const plan = requirePlan(lab);
    let highlight;
    if (traced) {
      const { traceCommandResult } = await import('../../trace/index.js');
      const { highlightOf } = await import('../../graph/trace-path.js');
      const result = await traceCommandResult(plan, args.positionals[0]!, args.positionals[1]!, { port: flag(args, 'port'), udp: has(args, 'udp') });
      highlight = highlightOf(plan, result);
      progress(result.verdict.line);
    }
    const live = await liveGraph(plan, highlight);
    model = live.model;
    if (live.differences) progress(`lab ${lab}: ${live.differences} difference(s) from the plan, marked in the graph ('kube-netlab check' lists them)`);
  }
  const file = flag(args, 'out');
  const rendered = await renderGraph(model, format);
  // A Markdown file gets the fence that makes GitHub draw the diagram.
  const text = format === 'mermaid' && file?.toLowerCase().endsWith('.md') ? `\`\`\`mermaid\n${rendered}\`\`\`\n` : rendered;
  if (file) {
    writeFileSync(file, text);
    progress(`${format} of lab ${model.lab} written to ${file}`);
  } else {
    out(text);
  }
  return 0;
}
