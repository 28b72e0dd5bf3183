/**
 * Checks made before any change: the lab needs root and a few programs.
 * Missing pieces are an environment problem (exit 3) that names the package.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PACKAGE_OF } from '../kernel/exec.js';
import { EnvironmentError } from '../util/errors.js';

export const REQUIRED_TOOLS = ['ip', 'nsenter', 'unshare', 'sleep', 'nice', 'sh', 'sysctl', 'ping', 'curl'];

export function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

export function checkEnvironment(tools: string[] = REQUIRED_TOOLS): void {
  if (process.getuid?.() !== 0) {
    throw new EnvironmentError(
      'kube-netlab creates network namespaces and must run as root',
      "Run it with sudo, e.g. 'sudo npm run lab:up'.",
    );
  }
  const missing = tools.filter((t) => !onPath(t));
  if (missing.length) {
    const packages = [...new Set(missing.map((t) => PACKAGE_OF[t] ?? (t === 'sysctl' ? 'procps' : t)))];
    throw new EnvironmentError(
      `missing programs: ${missing.join(', ')}`,
      `Install them with 'apt-get install ${packages.join(' ')}' or run 'sudo scripts/provision.sh'.`,
    );
  }
}
