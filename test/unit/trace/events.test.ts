/**
 * `nft monitor trace` lines as nft 1.0.6 prints them (recorded), parsed
 * into events; the rule texts and comments found by handle; the trace
 * table's text.
 */
import t from 'tap';
import { parsePacket, parseTrace, parseTraceLine, tidyRule } from '../../../dist/trace/events.js';
import { indexRules, iptablesComment, ruleKey } from '../../../dist/trace/rulesets.js';
import { renderTraceTable } from '../../../dist/trace/table.js';

const RECORDED = `add table inet kube-netlab-trace
trace id e105f494 inet kube-netlab-trace output packet: oif "lo" ip saddr 127.0.0.1 ip daddr 10.99.0.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 28776 ip protocol tcp ip length 60 tcp sport 40123 tcp dport 80 tcp flags == syn tcp window 65495 
trace id e105f494 inet kube-netlab-trace output rule meta l4proto tcp th sport 40123 limit rate 200/second burst 50 packets meta nftrace set 1 # handle 7 (verdict continue)
trace id e105f494 inet kube-netlab-trace output policy accept 
trace id e105f494 ip nat OUTPUT packet: oif "lo" ip saddr 127.0.0.1 ip daddr 10.99.0.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 28776 ip length 60 tcp sport 40123 tcp dport 80 tcp flags == syn tcp window 65495 
trace id e105f494 ip nat OUTPUT rule ip daddr 10.99.0.1 tcp dport 80  counter packets 0 bytes 0 dnat to 127.0.0.1:8080 # handle 2 (verdict accept)
trace id e105f494 ip filter OUTPUT packet: oif "lo" ip saddr 127.0.0.1 ip daddr 127.0.0.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 28776 ip length 60 tcp sport 40123 tcp dport 8080 tcp flags == syn tcp window 65495 
trace id e105f494 ip filter OUTPUT policy accept 
trace id 8b9ce3a4 inet kube-netlab-trace prerouting packet: iif "lo" @ll,0,112 0x800 ip saddr 10.99.0.1 ip daddr 127.0.0.1 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 0 ip protocol tcp ip length 40 tcp sport 80 tcp dport 40123 tcp flags == 0x14 tcp window 0 
trace id 8b9ce3a4 inet kube-netlab-trace prerouting unknown rule handle 8 (verdict continue)
trace id 8b9ce3a4 ip filter KUBE-NWPLCY-X rule  counter packets 3 bytes 180 jump KUBE-POD-Y # handle 12 (verdict jump KUBE-POD-Y)
trace id 8b9ce3a4 ip filter KUBE-POD-Y verdict drop
# Warning: table ip nat is managed by iptables-nft, do not touch!
`;

t.test('trace lines become events; everything else is skipped', async (t) => {
  const events = parseTrace(RECORDED);
  t.equal(events.length, 11);
  t.same(events.map((e) => `${e.id} ${e.family} ${e.table} ${e.chain} ${e.kind}`).slice(0, 3), [
    'e105f494 inet kube-netlab-trace output packet',
    'e105f494 inet kube-netlab-trace output rule',
    'e105f494 inet kube-netlab-trace output policy',
  ]);
  t.same(events[0]!.packet, { oif: 'lo', saddr: '127.0.0.1', daddr: '10.99.0.1', ttl: 64, ipid: 28776, protocol: 'tcp', sport: 40123, dport: 80, flags: 'syn' });
  t.match(events[4], { kind: 'rule', table: 'nat', chain: 'OUTPUT', rule: 'ip daddr 10.99.0.1 tcp dport 80 dnat to 127.0.0.1:8080', handle: 2, verdict: 'accept' });
  t.same(events[5]!.packet!.daddr, '127.0.0.1', 'the packet after the DNAT');
  t.match(events[8], { kind: 'rule', handle: 8, verdict: 'continue' });
  t.equal(events[8]!.rule, undefined, 'a rule nft did not know has no text, only its handle');
  t.match(events[9], { kind: 'rule', verdict: 'jump KUBE-POD-Y', handle: 12 });
  t.match(events[10], { kind: 'verdict', verdict: 'drop' });
  t.same(events[7]!.packet, { iif: 'lo', saddr: '10.99.0.1', daddr: '127.0.0.1', ttl: 64, ipid: 0, protocol: 'tcp', sport: 80, dport: 40123, flags: '0x14' });
});

t.test('packets: UDP, interfaces, no ports for ICMP', async (t) => {
  t.same(parsePacket('iif "flannel.1" oif "cbr0" ether saddr 0a:58:0a:f4:00:03 ether daddr 06:ec:4e:24:ad:2e ip saddr 10.244.0.3 ip daddr 10.244.1.4 ip ttl 63 ip protocol udp udp sport 45000 udp dport 53 udp length 40'), {
    iif: 'flannel.1', oif: 'cbr0', etherSaddr: '0a:58:0a:f4:00:03', etherDaddr: '06:ec:4e:24:ad:2e', saddr: '10.244.0.3', daddr: '10.244.1.4', ttl: 63, protocol: 'udp', sport: 45000, dport: 53,
  });
  t.same(parsePacket('oif "eth0" ip saddr 10.244.0.3 ip daddr 10.244.1.4 ip ttl 64 ip protocol icmp icmp type echo-request icmp code net-unreachable'), { oif: 'eth0', saddr: '10.244.0.3', daddr: '10.244.1.4', ttl: 64, protocol: 'icmp' });
  t.equal(parseTraceLine('add rule ip nat KUBE-SERVICES ip daddr 10.96.0.1 jump KUBE-SVC-X'), undefined);
});

t.test('rules by handle: native nft comments, iptables-nft comments from iptables-save by position', async (t) => {
  const nft = `table ip nat { # handle 1
	chain KUBE-SERVICES { # handle 3
		ip daddr 10.96.0.11 tcp dport 80  counter packets 0 bytes 0 jump KUBE-SVC-ABC # handle 10
		ip daddr 10.96.0.1 tcp dport 443  counter packets 0 bytes 0 jump KUBE-SVC-DEF # handle 11
	}
	chain KUBE-SEP-1 { # handle 4
		meta l4proto tcp   counter packets 0 bytes 0 dnat to 10.244.1.4:8080 # handle 12
	}
}
table inet kube-proxy { # handle 2
	set cluster-ips { # handle 5
		type ipv4_addr
		elements = { 10.96.0.1,
			     10.96.0.11 }
	}
	chain service-ABC { # handle 6
		ip daddr 10.96.0.11 tcp dport 80 numgen random mod 1 vmap { 0 : goto endpoint-1 } comment "default/web:http" # handle 20
	}
}`;
  const save = `*nat
:KUBE-SERVICES - [0:0]
-A KUBE-SERVICES -d 10.96.0.11/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-ABC
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment default/kubernetes:https -m tcp --dport 443 -j KUBE-SVC-DEF
-A KUBE-SEP-1 -p tcp -m comment --comment default/web:http -m tcp -j DNAT --to-destination 10.244.1.4:8080
COMMIT
`;
  const idx = indexRules(nft, save);
  t.same(idx.get(ruleKey('ip', 'nat', 'KUBE-SERVICES', 10)), { rule: save.split('\n')[2], comment: 'default/web:http cluster IP' });
  t.same(idx.get(ruleKey('ip', 'nat', 'KUBE-SERVICES', 11))?.comment, 'default/kubernetes:https');
  t.same(idx.get(ruleKey('ip', 'nat', 'KUBE-SEP-1', 12))?.rule, '-A KUBE-SEP-1 -p tcp -m comment --comment default/web:http -m tcp -j DNAT --to-destination 10.244.1.4:8080');
  t.equal(tidyRule('ip daddr 10.96.0.11  tcp dport 80 counter packets 3 bytes 180 jump KUBE-SVC-X'), 'ip daddr 10.96.0.11 tcp dport 80 jump KUBE-SVC-X', 'counters, which move with every packet, are not part of a rule');
  t.same(idx.get(ruleKey('inet', 'kube-proxy', 'service-ABC', 20)), { rule: 'ip daddr 10.96.0.11 tcp dport 80 numgen random mod 1 vmap { 0 : goto endpoint-1 } comment "default/web:http"', comment: 'default/web:http' });
  t.equal(idx.size, 4, 'set elements are no rules');
  t.equal(iptablesComment('-A X -m comment --comment "a \\"b\\" c" -j ACCEPT'), 'a "b" c');
});

t.test('the trace table: both directions of the probe port and of nginx\'s connection, on every hook', async (t) => {
  const text = renderTraceTable([{ protocol: 'tcp', localPort: 45001 }, { protocol: 'tcp', from: { ip: '10.244.0.4', ports: [8080, 9000] } }], 'kube-netlab-trace-45001');
  t.equal(
    text,
    `table inet kube-netlab-trace-45001
delete table inet kube-netlab-trace-45001
table inet kube-netlab-trace-45001 {
  chain prerouting {
    type filter hook prerouting priority -350; policy accept;
    meta l4proto tcp th sport 45001 limit rate 200/second burst 50 packets meta nftrace set 1
    meta l4proto tcp th dport 45001 limit rate 200/second burst 50 packets meta nftrace set 1
    ip saddr 10.244.0.4 meta l4proto tcp th dport { 8080, 9000 } limit rate 200/second burst 50 packets meta nftrace set 1
    ip daddr 10.244.0.4 meta l4proto tcp th sport { 8080, 9000 } limit rate 200/second burst 50 packets meta nftrace set 1
  }
  chain output {
    type filter hook output priority -350; policy accept;
    meta l4proto tcp th sport 45001 limit rate 200/second burst 50 packets meta nftrace set 1
    meta l4proto tcp th dport 45001 limit rate 200/second burst 50 packets meta nftrace set 1
    ip saddr 10.244.0.4 meta l4proto tcp th dport { 8080, 9000 } limit rate 200/second burst 50 packets meta nftrace set 1
    ip daddr 10.244.0.4 meta l4proto tcp th sport { 8080, 9000 } limit rate 200/second burst 50 packets meta nftrace set 1
  }
  chain input {
    type filter hook input priority -350; policy accept;
  }
  chain forward {
    type filter hook forward priority -350; policy accept;
  }
  chain postrouting {
    type filter hook postrouting priority -350; policy accept;
  }
}
`,
  );
});

t.test('a conntrack entry as one sentence', async (t) => {
  const { describeConntrack } = await import('../../../dist/trace/run.js');
  t.equal(
    describeConntrack('tcp      6 117 TIME_WAIT src=10.244.1.4 dst=10.96.0.11 sport=25453 dport=80 src=10.244.0.2 dst=10.244.1.4 sport=8080 dport=25453 [ASSURED] mark=0 use=1'),
    '10.244.1.4:25453 → 10.96.0.11:80, answered from 10.244.0.2:8080 to 10.244.1.4:25453 (TIME_WAIT)',
  );
  t.equal(describeConntrack('conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.'), undefined);
});
