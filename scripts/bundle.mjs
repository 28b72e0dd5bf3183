// Runs after tsc (npm run build). Every process the lab starts (the CLI, the
// agent, each daemon) loads its own code as one file instead of a hundred
// modules: Node.js resolves, reads and links each ES module on its own, and on
// a two-core machine where `up` starts seven such processes at once that was
// most of what `up` waited for. Each entry is bundled over its own built file,
// so every path that names it (the agent's and the daemons' command lines, the
// package's bin) stays what it is; the other built modules stay in dist/ for
// the tests and the bench, which import them one by one. Packages from
// node_modules are bundled with them, but for koffi (native) and @viz-js/viz
// (large, and loaded only by `graph`).
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

/** The entry files: processes the lab starts. The CLI keeps each verb in its own chunk, loaded when that verb runs. */
const DAEMONS = ['agent', 'components/cluster-dns', 'components/ingress-nginx', 'components/load-balancer', 'components/udp'];

async function bundle(options) {
  const result = await build({
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Pure-JavaScript packages go into the bundle too: Node.js would otherwise
    // resolve each of their CommonJS files and scan it for its exports at every
    // start (dns-packet in the DNS daemon and the agent, yaml in the CLI).
    external: ['koffi', '@viz-js/viz'],
    // What a bundled CommonJS module requires (Node's builtins) is loaded through this.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    sourcemap: 'linked',
    write: false,
    logLevel: 'warning',
    ...options,
  });
  // Written next to, then renamed over, the files they were built from: a process starting meanwhile reads one or the other whole.
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(`${file.path}.next`, file.contents);
    renameSync(`${file.path}.next`, file.path);
  }
  return result.outputFiles.map((f) => f.path);
}

for (const d of DAEMONS) {
  await bundle({ entryPoints: [join(dist, d, 'main.js')], outfile: join(dist, d, 'main.js'), allowOverwrite: true });
}
// Chunks sit one folder below dist/, as the modules they hold did: a path made from
// import.meta.url (the agent's entry, the lab files, node_modules) resolves as before.
const chunks = join(dist, 'chunks');
const written = await bundle({
  entryPoints: [{ in: join(dist, 'cli', 'main.js'), out: 'cli/main' }],
  outdir: dist,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  allowOverwrite: true,
});
// Chunks of an earlier build are removed after the new ones are written (a second run bundles the bundle, which imports them).
for (const name of readdirSync(chunks)) {
  if (!written.includes(join(chunks, name))) rmSync(join(chunks, name));
}
