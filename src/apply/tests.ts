/** What `up` and `apply` check of a plan's ReachabilityTests before changing anything. */
import { proxyInputs } from '../model/endpoints.js';
import type { Plan } from '../model/types.js';
import { PolicyEngine } from '../components/network-policy/engine.js';
import { makeWorld } from '../reachability/predict.js';
import { checkReachabilityTests } from '../reachability/resolve.js';

/** Throws a ConfigError (exit 2) naming every pod, namespace, port or Service a test needs and the plan lacks. */
export function checkPlannedTests(plan: Plan): void {
  if (!plan.spec.reachabilityTests?.length) return;
  checkReachabilityTests(makeWorld(plan, PolicyEngine.fromPlan(plan), proxyInputs(plan, () => true)));
}
