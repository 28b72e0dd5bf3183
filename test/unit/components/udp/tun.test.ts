/**
 * The checks openTun makes before anything privileged, so they hold for
 * any user: attaching must never create a device by accident.
 */
import t from 'tap';
import { openTun } from '../../../../dist/kernel/ffi.js';
import { TunDevice } from '../../../../dist/components/udp/tun.js';

t.test('a device this namespace does not have is not created', async (t) => {
  t.throws(() => TunDevice.open('nosuchtun0'), {
    message: /cannot attach to TUN device nosuchtun0: this network namespace has no device nosuchtun0; create it first \(ip tuntap add dev nosuchtun0 mode tun\)/,
  });
});

t.test('device names the kernel would refuse or misread', async (t) => {
  for (const name of ['', 'a-name-of-16-chr', 'bad/name', 'bad name', 'x:1']) {
    t.throws(() => openTun(name), RangeError, JSON.stringify(name));
  }
});
