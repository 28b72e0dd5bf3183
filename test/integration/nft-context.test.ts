/**
 * Scripts applied through a kept libnftables context land in the namespace
 * they are meant for, never in the root one; a refused script says why; a
 * namespace made again under the same name gets a context of its own.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeNftContexts, libnftablesAvailable, nftRunInNetns, refreshNftCache } from '../../dist/kernel/nft-context.js';
import { NFT_CACHE_PROBE } from '../../dist/components/kube-proxy/nftables.js';
import { createNamespaces, deleteNamespaces } from '../../dist/kernel/netns.js';
import { isRoot } from '../helpers/cli.js';
import { rootSnapshot } from '../helpers/host.js';

const NETNS = `kube-netlab-test-nft-${process.pid.toString(36)}`;
const list = () => execFileSync('ip', ['netns', 'exec', NETNS, 'nft', 'list', 'ruleset'], { encoding: 'utf8' });

if (!isRoot) t.skip('integration tests need root (network namespaces)');
else if (!libnftablesAvailable()) t.skip('libnftables.so.1 is not installed');
else {
  t.test('one context per namespace, applied there and nowhere else', async (t) => {
    const before = rootSnapshot();
    t.teardown(async () => {
      closeNftContexts();
      await deleteNamespaces([NETNS]);
    });
    await createNamespaces([NETNS]);
    nftRunInNetns(NETNS, 'add table ip kube-netlab-t\nadd chain ip kube-netlab-t c\nadd rule ip kube-netlab-t c counter accept\n', 'test');
    t.match(list(), /table ip kube-netlab-t \{[^]*chain c \{[^]*counter packets 0 bytes 0 accept/);
    // A second script on the same context sees the first one's table (its cache follows the ruleset).
    nftRunInNetns(NETNS, 'add rule ip kube-netlab-t c counter drop\n', 'test');
    t.match(list(), /accept\n\s*counter packets 0 bytes 0 drop/);
    t.throws(() => nftRunInNetns(NETNS, 'add rule ip no-such-table c accept\n', 'a test script'), /a test script: libnftables refused the script in kube-netlab-test-nft-\S+\n\s+Error: Could not process rule: No such file or directory/);
    // The same name, a new namespace: the old context would talk to the deleted one.
    await deleteNamespaces([NETNS]);
    await createNamespaces([NETNS]);
    nftRunInNetns(NETNS, 'add table inet kube-netlab-u\n', 'test');
    t.match(list(), /table inet kube-netlab-u/);
    t.notMatch(list(), /kube-netlab-t/);
    t.same(rootSnapshot(), before, 'the root namespace is unchanged');
  });

  t.test("kube-proxy's cache probe is checked and never committed", async (t) => {
    t.teardown(async () => {
      closeNftContexts();
      await deleteNamespaces([NETNS]);
    });
    await createNamespaces([NETNS]);
    refreshNftCache(NETNS, 'add table ip kube-netlab-never\n');
    t.equal(list().trim(), '', 'a namespace no script was applied to is left alone');
    nftRunInNetns(NETNS, 'add table ip kube-proxy\nadd chain ip kube-proxy mark-for-masquerade\nadd chain ip kube-proxy services\nadd rule ip kube-proxy services jump mark-for-masquerade\n', 'test');
    const applied = list();
    refreshNftCache(NETNS, NFT_CACHE_PROBE);
    t.equal(list(), applied, 'on the table: no rule added');
    // The next scripts on the warmed context land as they would have anyway, new chains and deleted ones included.
    nftRunInNetns(NETNS, 'add chain ip kube-proxy x\nadd rule ip kube-proxy services counter accept\nadd rule ip kube-proxy x jump mark-for-masquerade\n', 'test');
    refreshNftCache(NETNS, NFT_CACHE_PROBE);
    nftRunInNetns(NETNS, 'flush chain ip kube-proxy x\ndelete chain ip kube-proxy x\n', 'test');
    refreshNftCache(NETNS, NFT_CACHE_PROBE);
    const now = list();
    t.match(now, /jump mark-for-masquerade\n\s*counter packets 0 bytes 0 accept/);
    t.notMatch(now, /chain x/);
    t.notMatch(now, /mark-for-masquerade \{[^}]*counter/, 'the probe never left its rule');
  });
}
