/**
 * Integration-test helpers: run the built CLI as a separate process (as a
 * user would), give every test its own lab name, and always tear down.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist/cli/main.js');

export const isRoot = process.getuid?.() === 0;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A lab name unique to this test process, short enough for the 24-char limit. */
export function labName(tag: string): string {
  return `${tag}-${process.pid.toString(36)}`.slice(0, 24);
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kube-netlab-test-'));
}

export function writeLab(dir: string, name: string, yaml: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

/** A small lab: 3 nodes, 2 namespaces, a multi-container pod, pods on every node. */
export function smallLab(name: string, backend = 'host-gw'): string {
  return `apiVersion: kube-netlab.dev/v1alpha1
kind: Lab
metadata: {name: ${name}}
spec:
  podNetwork: {backend: ${backend}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: duo, namespace: other}
spec:
  nodeName: node2
  containers:
    - name: left
      ports: [{containerPort: 7001}]
    - name: right
      ports: [{containerPort: 7002}, {containerPort: 7003, protocol: UDP}]
---
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: other}
spec:
  nodeName: node2
  containers:
    - name: main
      ports: [{containerPort: 8080}]
`;
}
