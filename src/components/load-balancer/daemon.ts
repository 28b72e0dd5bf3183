/**
 * The cloud's load balancer, one process in its namespace on the internet
 * side; its config is the lab's load balancers and nodes.
 */
import type { DaemonSpec } from '../../model/daemons.js';
import type { Plan } from '../../model/types.js';
import { loadBalancersOf } from './config.js';

export const LOAD_BALANCER_DAEMON = 'cloud/load-balancer';

export function loadBalancerDaemons(plan: Plan): DaemonSpec[] {
  const lb = plan.internet.loadBalancer;
  return [{ name: LOAD_BALANCER_DAEMON, netns: lb.netns, module: 'components/load-balancer', args: ['--name', LOAD_BALANCER_DAEMON], config: loadBalancersOf(plan) }];
}
