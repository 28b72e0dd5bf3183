/**
 * What the lab's NetworkPolicies let the path checks do (pure). Checks that
 * pick a pair pick one the policies allow; checks with a fixed client expect
 * what the engine predicts (a drop where a policy blocks); where the answer
 * depends on kube-proxy's pick among endpoints the policies treat
 * differently, the check is left out (P11 and the ReachabilityTests cover
 * those). Without policies every path is open and nothing changes.
 */
import { PolicyEngine, type Protocol } from '../components/network-policy/engine.js';
import type { ProxyNodeInput } from '../model/services.js';
import type { Plan, PodPlan } from '../model/types.js';
import { makeWorld, predict, type Prediction, type Source, type Target, type World } from '../reachability/predict.js';

export class PolicyView {
  readonly world: World;

  constructor(plan: Plan, proxy: ProxyNodeInput[]) {
    this.world = makeWorld(plan, PolicyEngine.fromPlan(plan), proxy);
  }

  get engine(): PolicyEngine {
    return this.world.engine;
  }

  /** Whether any policy exists: without one every path check is as it always was. */
  get active(): boolean {
    return this.world.engine.hasPolicies;
  }

  predict(src: Source, target: Target, protocol: Protocol): Prediction {
    return predict(this.world, src, target, protocol);
  }

  /** ping, and a TCP port when given, from `src` to the pod's own address are both allowed. */
  podPathOpen(src: Source, dst: PodPlan, tcpPort?: number): boolean {
    if (!this.active) return true;
    const open = (port: number | undefined, protocol: Protocol) => this.predict(src, { kind: 'pod', pod: dst, port: port ?? 0 }, protocol).result === 'allowed';
    return open(undefined, 'ICMP') && (tcpPort === undefined || open(tcpPort, 'TCP'));
  }
}

export const podSource = (pod: PodPlan): Source => ({ kind: 'pod', pod });
