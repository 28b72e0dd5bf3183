// The pod's loopback interface goes down: its containers lose localhost,
// while the pod IP on eth0 keeps answering from outside.

export async function inject(ex) {
  await ex.run('shop/cache', ['ip', 'link', 'set', 'lo', 'down']);
}

export async function fix(ex) {
  await ex.run('shop/cache', ['ip', 'link', 'set', 'lo', 'up']);
}

export function symptom(ex) {
  return [ex.probe.http('shop/cache', '127.0.0.1', 6379), ex.probe.http('shop/cache', '127.0.0.1', 9121)];
}

export async function wrongFix(ex) {
  await ex.run(`node/${ex.pod('shop/cache').node}`, ['ip', 'link', 'set', 'lo', 'up']);
}
