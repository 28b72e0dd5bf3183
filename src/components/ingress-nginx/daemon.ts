/**
 * nginx in every ingress-nginx controller pod: one daemon per pod whose
 * container runs the controller, each with its own config (the Ingresses of
 * its class, their Secrets and Services); it follows the endpoints the agent
 * publishes.
 */
import type { DaemonSpec } from '../../model/daemons.js';
import type { Plan } from '../../model/types.js';
import { certificatesFor, ingressControllerConfig } from './controller.js';
import { CertStore } from './certs.js';

export function ingressDaemons(plan: Plan): DaemonSpec[] {
  return plan.pods
    .filter((p) => p.containers.some((c) => c.program === 'ingress-nginx'))
    .map((p) => {
      const name = `ingress/${p.namespace}/${p.name}`;
      return { name, netns: p.netns, module: 'components/ingress-nginx' as const, args: ['--name', name, '--pod', p.key], config: ingressControllerConfig(plan, p.key) };
    });
}

/** The certificates the controllers serve, made before they start; a certificate two controllers share is made once. */
export async function prepareIngressCertificates(plan: Plan, runDir: string): Promise<void> {
  const store = new CertStore(runDir, plan.lab);
  for (const p of plan.pods.filter((p) => p.containers.some((c) => c.program === 'ingress-nginx'))) {
    await certificatesFor(ingressControllerConfig(plan, p.key), store);
  }
}
