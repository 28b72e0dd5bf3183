import t from 'tap';
import { healthBody } from '../../../dist/agent/health-check.js';

t.test('the health check answers as kube-proxy does: 200 with local endpoints, 503 without', async (t) => {
  t.same(healthBody('shop/api', 2), { status: 200, body: '{"service":{"namespace":"shop","name":"api"},"localEndpoints":2,"serviceProxyHealthy":true}\n' });
  t.equal(healthBody('shop/api', 0).status, 503);
  t.match(healthBody('shop/api', 0).body, /"localEndpoints":0/);
});
