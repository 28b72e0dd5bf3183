/**
 * `check`: every kernel object and process the plan decides, compared with
 * what the kernel and the agent say now. Read-only.
 */
import { agentStatus } from '../agent/client.js';
import type { AgentStatus } from '../agent/protocol.js';
import { labDir } from '../apply/state.js';
import type { Plan } from '../model/types.js';
import { processDifferences } from './agent.js';
import { compare, type Difference } from './compare.js';
import { expectedObjects, placeNames } from './expected.js';
import { readKernel } from './kernel.js';

export { differenceLine, type Difference } from './compare.js';

export interface CheckReport {
  lab: string;
  objects: number;
  differences: Difference[];
}

export async function checkLab(plan: Plan): Promise<CheckReport> {
  const expected = expectedObjects(plan);
  const places = placeNames(plan);
  let status: AgentStatus | undefined;
  let agentError: string | undefined;
  const [kernel] = await Promise.all([
    readKernel(expected),
    agentStatus(labDir(plan.lab), 2000).then(
      (s) => (status = s),
      (err: Error) => (agentError = err.message.split(';')[0]),
    ),
  ]);
  return { lab: plan.lab, objects: expected.length, differences: [...compare(expected, kernel, places), ...processDifferences(plan, status, places, agentError)] };
}
