// The node stops forwarding: every packet between its pods' bridge and the
// overlay (and back) is dropped by the kernel, with no rule to show for it.

export async function inject(ex) {
  await ex.run('node/node2', ['sysctl', '-w', 'net.ipv4.ip_forward=0']);
}

export async function fix(ex) {
  await ex.run('node/node2', ['sysctl', '-w', 'net.ipv4.ip_forward=1']);
}

export function symptom(ex) {
  const toolbox = 'default/toolbox';
  return [
    ex.probe.ping(toolbox, ex.pod('default/web', 'node1').ip),
    ex.probe.http(toolbox, ex.pod('default/web', 'node3').ip, 8080),
    ex.probe.ping(ex.pod('default/web', 'node1').key, ex.pod('default/web', 'node2').ip),
  ];
}
