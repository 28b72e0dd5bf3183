/** The files the kubelet writes for a namespace, compared line by line with what the plan renders. */
import t from 'tap';
import { compareFiles, fileProblem } from '../../../dist/check/files.js';
import { differenceLine } from '../../../dist/check/compare.js';

const RESOLV = 'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n';

t.test('the first line that differs is named, with what was expected', async (t) => {
  t.equal(fileProblem(RESOLV, RESOLV), undefined);
  t.equal(fileProblem(RESOLV, undefined), 'missing');
  t.equal(fileProblem(RESOLV, RESOLV.replace('10.96.0.10', '10.96.0.100')), 'line 1: "nameserver 10.96.0.100" (expected "nameserver 10.96.0.10")');
  t.equal(fileProblem(RESOLV, RESOLV.replace('options ndots:5\n', '')), 'line 3: missing (expected "options ndots:5")');
  t.equal(fileProblem(RESOLV, `${RESOLV}nameserver 8.8.8.8\n`), 'line 4: "nameserver 8.8.8.8" not in the plan');
});

t.test('a file is named by the place of its namespace and the path a process there sees', async (t) => {
  const places = new Map([['lab.pod.default.toolbox', 'pod default/toolbox']]);
  const expected = [
    { component: 'kubelet', file: { path: '/etc/netns/lab.pod.default.toolbox/resolv.conf', content: RESOLV } },
    { component: 'kubelet', file: { path: '/etc/netns/lab.pod.default.toolbox/hosts', content: '127.0.0.1\tlocalhost\n' } },
  ];
  const found = new Map<string, string | undefined>([
    ['/etc/netns/lab.pod.default.toolbox/resolv.conf', RESOLV.replace('10.96.0.10', '10.96.0.11')],
    ['/etc/netns/lab.pod.default.toolbox/hosts', '127.0.0.1\tlocalhost\n'],
  ]);
  t.same(compareFiles(expected, found, places).map(differenceLine), ['pod default/toolbox  kubelet  file /etc/resolv.conf: line 1: "nameserver 10.96.0.11" (expected "nameserver 10.96.0.10")']);
});
