/** The one address module: membership with host bits, IPv6 never in, offsets, subnets. */
import t from 'tap';
import { cidr, inCidr, nthAddress, nthSubnet, offsetIn, parseIPv4, subnetCount } from '../../../dist/util/addresses.js';

t.test('inCidr: inside, outside, edges, host bits ignored, IPv6 never in', async (t) => {
  t.ok(inCidr('10.244.1.5', '10.244.0.0/16'));
  t.notOk(inCidr('10.245.0.1', '10.244.0.0/16'));
  t.ok(inCidr('10.244.255.255', '10.244.0.0/16'));
  t.ok(inCidr('192.168.56.7', '192.168.56.5/24'), 'host bits of the range do not matter, as nginx allow/deny');
  t.ok(inCidr('203.0.113.9', '203.0.113.9/32'));
  t.notOk(inCidr('203.0.113.10', '203.0.113.9/32'));
  t.ok(inCidr('8.8.8.8', '0.0.0.0/0'));
  t.notOk(inCidr('10.0.0.1', '::/0'));
});

t.test('offsets, addresses and subnets of a range', async (t) => {
  const r = cidr('10.96.0.0/12');
  t.equal(offsetIn(r, '10.96.0.10'), 10);
  t.equal(offsetIn(r, '10.112.0.1'), undefined);
  t.equal(nthAddress(r, 10), '10.96.0.10');
  t.equal(nthSubnet(cidr('10.244.0.0/16'), 24, 2).toCidrString(), '10.244.2.0/24');
  t.equal(subnetCount(cidr('10.244.0.0/16'), 24), 256n);
  t.equal(parseIPv4('10.0.0.300'), undefined);
  t.equal(parseIPv4('10.0.0.3')?.toString(), '10.0.0.3');
});
