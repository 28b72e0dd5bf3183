import t from 'tap';
import type { ProxyEndpoint, ProxyNodeInput, ProxyServicePort } from '../../../../dist/model/services.js';
import { NftablesMemo, renderNftablesSync } from '../../../../dist/components/kube-proxy/nftables.js';

/** Expected scripts are written indented and grouped; the renderer writes one command per line. */
const script = (text: string) =>
  `${text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('\n')}\n`;

const NODE_IPS: Record<string, string> = { node1: '192.168.56.11', node2: '192.168.56.12', node3: '192.168.56.13' };

const ep = (ip: string, port: number, nodeName: string, node: string): ProxyEndpoint => ({ ip, port, nodeName, isLocal: nodeName === node });

function servicePort(over: Partial<ProxyServicePort> & Pick<ProxyServicePort, 'service' | 'clusterIP' | 'port' | 'endpoints'>): ProxyServicePort {
  return { namespace: 'default', portName: '', protocol: 'TCP', loadBalancerIPs: [], externalPolicyLocal: false, internalPolicyLocal: false, ...over };
}

/**
 * One lab, seen from `node`: ClientIP affinity over 3 endpoints, a service
 * with a UDP and a TCP port, one without endpoints, internalTrafficPolicy
 * Local (its endpoint on node2), NodePort with externalTrafficPolicy Local
 * (endpoints on node1 and node2, none on node3, unnamed port), and a plain
 * NodePort.
 */
function lab(node: string): ProxyNodeInput {
  const e = (ip: string, port: number, on: string) => ep(ip, port, on, node);
  return {
    node,
    nodeIP: NODE_IPS[node]!,
    clusterCIDR: '10.244.0.0/16',
    masqueradeBit: 14,
    services: [
      servicePort({ service: 'api', portName: 'http', clusterIP: '10.96.0.10', port: 80, affinityTimeoutSeconds: 10800, endpoints: [e('10.244.0.5', 8080, 'node1'), e('10.244.1.5', 8080, 'node2'), e('10.244.2.5', 8080, 'node3')] }),
      servicePort({ service: 'dns', portName: 'dns', protocol: 'UDP', clusterIP: '10.96.0.53', port: 53, endpoints: [e('10.244.1.7', 53, 'node2')] }),
      servicePort({ service: 'dns', portName: 'dns-tcp', clusterIP: '10.96.0.53', port: 53, endpoints: [e('10.244.1.7', 53, 'node2')] }),
      servicePort({ service: 'empty', clusterIP: '10.96.0.20', port: 80, endpoints: [] }),
      servicePort({ service: 'itp-local', portName: 'http', clusterIP: '10.96.0.30', port: 80, internalPolicyLocal: true, endpoints: [e('10.244.1.9', 8080, 'node2')] }),
      servicePort({ service: 'local-np', clusterIP: '10.96.0.40', port: 80, nodePort: 30080, healthCheckNodePort: 32000, externalPolicyLocal: true, endpoints: [e('10.244.0.6', 8080, 'node1'), e('10.244.1.6', 8080, 'node2')] }),
      servicePort({ service: 'web', portName: 'web', clusterIP: '10.96.0.50', port: 8080, nodePort: 30081, endpoints: [e('10.244.1.8', 80, 'node2')] }),
    ],
  };
}

const copy = (input: ProxyNodeInput): ProxyNodeInput => structuredClone(input);
const port = (input: ProxyNodeInput, service: string, portName?: string) => input.services.find((s) => s.service === service && (portName === undefined || s.portName === portName))!;

/** Table, base chains, top-level chains, sets and maps: the part every full sync starts with. */
const skeleton = (nodeIP: string) => `
  add table ip kube-proxy { comment "rules for kube-proxy" ; }

  add chain ip kube-proxy filter-prerouting
  delete chain ip kube-proxy filter-prerouting
  add chain ip kube-proxy filter-input
  delete chain ip kube-proxy filter-input
  add chain ip kube-proxy filter-forward
  delete chain ip kube-proxy filter-forward
  add chain ip kube-proxy filter-output
  delete chain ip kube-proxy filter-output
  add chain ip kube-proxy filter-output-post-dnat
  delete chain ip kube-proxy filter-output-post-dnat
  add chain ip kube-proxy nat-prerouting
  delete chain ip kube-proxy nat-prerouting
  add chain ip kube-proxy nat-output
  delete chain ip kube-proxy nat-output
  add chain ip kube-proxy nat-postrouting
  delete chain ip kube-proxy nat-postrouting

  add chain ip kube-proxy filter-prerouting { type filter hook prerouting priority -110 ; }
  add chain ip kube-proxy filter-input { type filter hook input priority -110 ; }
  add chain ip kube-proxy filter-forward { type filter hook forward priority -110 ; }
  add chain ip kube-proxy filter-output { type filter hook output priority -110 ; }
  add chain ip kube-proxy filter-output-post-dnat { type filter hook output priority -90 ; }
  add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
  add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
  add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }

  add chain ip kube-proxy nodeport-endpoints-check
  flush chain ip kube-proxy nodeport-endpoints-check
  add chain ip kube-proxy service-endpoints-check
  flush chain ip kube-proxy service-endpoints-check
  add chain ip kube-proxy firewall-check
  flush chain ip kube-proxy firewall-check
  add chain ip kube-proxy services
  flush chain ip kube-proxy services
  add chain ip kube-proxy masquerading
  flush chain ip kube-proxy masquerading
  add chain ip kube-proxy cluster-ips-check
  flush chain ip kube-proxy cluster-ips-check
  add chain ip kube-proxy mark-for-masquerade
  flush chain ip kube-proxy mark-for-masquerade
  add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
  flush chain ip kube-proxy reject-chain

  add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
  flush set ip kube-proxy cluster-ips
  add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }
  flush set ip kube-proxy nodeport-ips
  add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
  flush map ip kube-proxy no-endpoint-services
  add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
  flush map ip kube-proxy no-endpoint-nodeports
  add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
  flush map ip kube-proxy firewall-ips
  add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
  flush map ip kube-proxy service-ips
  add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }
  flush map ip kube-proxy service-nodeports

  add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
  add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
  add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
  add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
  add rule ip kube-proxy filter-prerouting ct state new jump firewall-check
  add rule ip kube-proxy filter-output ct state new jump firewall-check
  add rule ip kube-proxy nat-output jump services
  add rule ip kube-proxy nat-prerouting jump services
  add rule ip kube-proxy nat-postrouting jump masquerading
  add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
  add rule ip kube-proxy filter-output-post-dnat ct state new jump cluster-ips-check

  add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
  add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
  add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
  add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
  add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
  add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
  add rule ip kube-proxy masquerading mark set mark xor 0x4000
  add rule ip kube-proxy masquerading masquerade fully-random
  add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
  add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
  add rule ip kube-proxy reject-chain reject
  add element ip kube-proxy nodeport-ips { ${nodeIP} }
`;

t.test('full sync: everything declared, flushed and written, in one script', async (t) => {
  const expected = skeleton('192.168.56.11') + `
  add chain ip kube-proxy service-FKIP43JP-default/api/tcp/http
  flush chain ip kube-proxy service-FKIP43JP-default/api/tcp/http
  add chain ip kube-proxy endpoint-BDGXENLX-default/api/tcp/http__10.244.0.5/8080
  flush chain ip kube-proxy endpoint-BDGXENLX-default/api/tcp/http__10.244.0.5/8080
  add chain ip kube-proxy endpoint-COIOIKUM-default/api/tcp/http__10.244.1.5/8080
  flush chain ip kube-proxy endpoint-COIOIKUM-default/api/tcp/http__10.244.1.5/8080
  add chain ip kube-proxy endpoint-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080
  flush chain ip kube-proxy endpoint-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080
  add set ip kube-proxy affinity-BDGXENLX-default/api/tcp/http__10.244.0.5/8080 { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }
  add set ip kube-proxy affinity-COIOIKUM-default/api/tcp/http__10.244.1.5/8080 { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }
  add set ip kube-proxy affinity-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080 { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }
  add rule ip kube-proxy service-FKIP43JP-default/api/tcp/http ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
  add rule ip kube-proxy service-FKIP43JP-default/api/tcp/http ip saddr @affinity-BDGXENLX-default/api/tcp/http__10.244.0.5/8080 goto endpoint-BDGXENLX-default/api/tcp/http__10.244.0.5/8080
  add rule ip kube-proxy service-FKIP43JP-default/api/tcp/http ip saddr @affinity-COIOIKUM-default/api/tcp/http__10.244.1.5/8080 goto endpoint-COIOIKUM-default/api/tcp/http__10.244.1.5/8080
  add rule ip kube-proxy service-FKIP43JP-default/api/tcp/http ip saddr @affinity-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080 goto endpoint-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080
  add rule ip kube-proxy service-FKIP43JP-default/api/tcp/http numgen random mod 3 vmap { 0 : goto endpoint-BDGXENLX-default/api/tcp/http__10.244.0.5/8080 , 1 : goto endpoint-COIOIKUM-default/api/tcp/http__10.244.1.5/8080 , 2 : goto endpoint-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080 }
  add rule ip kube-proxy endpoint-BDGXENLX-default/api/tcp/http__10.244.0.5/8080 ip saddr 10.244.0.5 jump mark-for-masquerade
  add rule ip kube-proxy endpoint-BDGXENLX-default/api/tcp/http__10.244.0.5/8080 update @affinity-BDGXENLX-default/api/tcp/http__10.244.0.5/8080 { ip saddr }
  add rule ip kube-proxy endpoint-BDGXENLX-default/api/tcp/http__10.244.0.5/8080 meta l4proto tcp dnat to 10.244.0.5:8080
  add rule ip kube-proxy endpoint-COIOIKUM-default/api/tcp/http__10.244.1.5/8080 ip saddr 10.244.1.5 jump mark-for-masquerade
  add rule ip kube-proxy endpoint-COIOIKUM-default/api/tcp/http__10.244.1.5/8080 update @affinity-COIOIKUM-default/api/tcp/http__10.244.1.5/8080 { ip saddr }
  add rule ip kube-proxy endpoint-COIOIKUM-default/api/tcp/http__10.244.1.5/8080 meta l4proto tcp dnat to 10.244.1.5:8080
  add rule ip kube-proxy endpoint-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080 ip saddr 10.244.2.5 jump mark-for-masquerade
  add rule ip kube-proxy endpoint-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080 update @affinity-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080 { ip saddr }
  add rule ip kube-proxy endpoint-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080 meta l4proto tcp dnat to 10.244.2.5:8080

  add chain ip kube-proxy service-Z3XHB2ZZ-default/dns/udp/dns
  flush chain ip kube-proxy service-Z3XHB2ZZ-default/dns/udp/dns
  add chain ip kube-proxy endpoint-5PXJRRPW-default/dns/udp/dns__10.244.1.7/53
  flush chain ip kube-proxy endpoint-5PXJRRPW-default/dns/udp/dns__10.244.1.7/53
  add rule ip kube-proxy service-Z3XHB2ZZ-default/dns/udp/dns ip daddr 10.96.0.53 udp dport 53 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
  add rule ip kube-proxy service-Z3XHB2ZZ-default/dns/udp/dns numgen random mod 1 vmap { 0 : goto endpoint-5PXJRRPW-default/dns/udp/dns__10.244.1.7/53 }
  add rule ip kube-proxy endpoint-5PXJRRPW-default/dns/udp/dns__10.244.1.7/53 ip saddr 10.244.1.7 jump mark-for-masquerade
  add rule ip kube-proxy endpoint-5PXJRRPW-default/dns/udp/dns__10.244.1.7/53 meta l4proto udp dnat to 10.244.1.7:53

  add chain ip kube-proxy service-4R6EASBP-default/dns/tcp/dns-tcp
  flush chain ip kube-proxy service-4R6EASBP-default/dns/tcp/dns-tcp
  add chain ip kube-proxy endpoint-FA3EQVZM-default/dns/tcp/dns-tcp__10.244.1.7/53
  flush chain ip kube-proxy endpoint-FA3EQVZM-default/dns/tcp/dns-tcp__10.244.1.7/53
  add rule ip kube-proxy service-4R6EASBP-default/dns/tcp/dns-tcp ip daddr 10.96.0.53 tcp dport 53 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
  add rule ip kube-proxy service-4R6EASBP-default/dns/tcp/dns-tcp numgen random mod 1 vmap { 0 : goto endpoint-FA3EQVZM-default/dns/tcp/dns-tcp__10.244.1.7/53 }
  add rule ip kube-proxy endpoint-FA3EQVZM-default/dns/tcp/dns-tcp__10.244.1.7/53 ip saddr 10.244.1.7 jump mark-for-masquerade
  add rule ip kube-proxy endpoint-FA3EQVZM-default/dns/tcp/dns-tcp__10.244.1.7/53 meta l4proto tcp dnat to 10.244.1.7:53

  add chain ip kube-proxy service-HA4JRZAW-default/local-np/tcp/
  flush chain ip kube-proxy service-HA4JRZAW-default/local-np/tcp/
  add chain ip kube-proxy local-HA4JRZAW-default/local-np/tcp/
  flush chain ip kube-proxy local-HA4JRZAW-default/local-np/tcp/
  add chain ip kube-proxy external-HA4JRZAW-default/local-np/tcp/
  flush chain ip kube-proxy external-HA4JRZAW-default/local-np/tcp/
  add chain ip kube-proxy endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080
  flush chain ip kube-proxy endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080
  add chain ip kube-proxy endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080
  flush chain ip kube-proxy endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080
  add rule ip kube-proxy service-HA4JRZAW-default/local-np/tcp/ ip daddr 10.96.0.40 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
  add rule ip kube-proxy service-HA4JRZAW-default/local-np/tcp/ numgen random mod 2 vmap { 0 : goto endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080 , 1 : goto endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080 }
  add rule ip kube-proxy local-HA4JRZAW-default/local-np/tcp/ numgen random mod 1 vmap { 0 : goto endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080 }
  add rule ip kube-proxy external-HA4JRZAW-default/local-np/tcp/ ip saddr 10.244.0.0/16 goto service-HA4JRZAW-default/local-np/tcp/ comment "short-circuit pod traffic"
  add rule ip kube-proxy external-HA4JRZAW-default/local-np/tcp/ fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"
  add rule ip kube-proxy external-HA4JRZAW-default/local-np/tcp/ fib saddr type local goto service-HA4JRZAW-default/local-np/tcp/ comment "short-circuit local traffic"
  add rule ip kube-proxy external-HA4JRZAW-default/local-np/tcp/ goto local-HA4JRZAW-default/local-np/tcp/
  add rule ip kube-proxy endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080 ip saddr 10.244.0.6 jump mark-for-masquerade
  add rule ip kube-proxy endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080 meta l4proto tcp dnat to 10.244.0.6:8080
  add rule ip kube-proxy endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080 ip saddr 10.244.1.6 jump mark-for-masquerade
  add rule ip kube-proxy endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080 meta l4proto tcp dnat to 10.244.1.6:8080

  add chain ip kube-proxy service-EVRFRB6S-default/web/tcp/web
  flush chain ip kube-proxy service-EVRFRB6S-default/web/tcp/web
  add chain ip kube-proxy external-EVRFRB6S-default/web/tcp/web
  flush chain ip kube-proxy external-EVRFRB6S-default/web/tcp/web
  add chain ip kube-proxy endpoint-LHJZFR43-default/web/tcp/web__10.244.1.8/80
  flush chain ip kube-proxy endpoint-LHJZFR43-default/web/tcp/web__10.244.1.8/80
  add rule ip kube-proxy service-EVRFRB6S-default/web/tcp/web ip daddr 10.96.0.50 tcp dport 8080 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
  add rule ip kube-proxy service-EVRFRB6S-default/web/tcp/web numgen random mod 1 vmap { 0 : goto endpoint-LHJZFR43-default/web/tcp/web__10.244.1.8/80 }
  add rule ip kube-proxy external-EVRFRB6S-default/web/tcp/web jump mark-for-masquerade
  add rule ip kube-proxy external-EVRFRB6S-default/web/tcp/web goto service-EVRFRB6S-default/web/tcp/web
  add rule ip kube-proxy endpoint-LHJZFR43-default/web/tcp/web__10.244.1.8/80 ip saddr 10.244.1.8 jump mark-for-masquerade
  add rule ip kube-proxy endpoint-LHJZFR43-default/web/tcp/web__10.244.1.8/80 meta l4proto tcp dnat to 10.244.1.8:80

  add element ip kube-proxy cluster-ips { 10.96.0.10 }
  add element ip kube-proxy service-ips { 10.96.0.10 . tcp . 80 : goto service-FKIP43JP-default/api/tcp/http }
  add element ip kube-proxy cluster-ips { 10.96.0.53 }
  add element ip kube-proxy service-ips { 10.96.0.53 . udp . 53 : goto service-Z3XHB2ZZ-default/dns/udp/dns }
  add element ip kube-proxy service-ips { 10.96.0.53 . tcp . 53 : goto service-4R6EASBP-default/dns/tcp/dns-tcp }
  add element ip kube-proxy cluster-ips { 10.96.0.20 }
  add element ip kube-proxy no-endpoint-services { 10.96.0.20 . tcp . 80 comment "default/empty" : goto reject-chain }
  add element ip kube-proxy cluster-ips { 10.96.0.30 }
  add element ip kube-proxy no-endpoint-services { 10.96.0.30 . tcp . 80 comment "default/itp-local:http" : drop }
  add element ip kube-proxy cluster-ips { 10.96.0.40 }
  add element ip kube-proxy service-ips { 10.96.0.40 . tcp . 80 : goto service-HA4JRZAW-default/local-np/tcp/ }
  add element ip kube-proxy service-nodeports { tcp . 30080 : goto external-HA4JRZAW-default/local-np/tcp/ }
  add element ip kube-proxy cluster-ips { 10.96.0.50 }
  add element ip kube-proxy service-ips { 10.96.0.50 . tcp . 8080 : goto service-EVRFRB6S-default/web/tcp/web }
  add element ip kube-proxy service-nodeports { tcp . 30081 : goto external-EVRFRB6S-default/web/tcp/web }
`;
  t.equal(renderNftablesSync(lab('node1')), script(expected));
});

t.test('externalTrafficPolicy Local on a node without a local endpoint: short-circuits only, outside clients dropped', async (t) => {
  const lines = renderNftablesSync(lab('node3'))
    .split('\n')
    .filter((l) => l.includes('local-np'));
  t.same(
    lines,
    script(`
      add chain ip kube-proxy service-HA4JRZAW-default/local-np/tcp/
      flush chain ip kube-proxy service-HA4JRZAW-default/local-np/tcp/
      add chain ip kube-proxy external-HA4JRZAW-default/local-np/tcp/
      flush chain ip kube-proxy external-HA4JRZAW-default/local-np/tcp/
      add chain ip kube-proxy endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080
      flush chain ip kube-proxy endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080
      add chain ip kube-proxy endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080
      flush chain ip kube-proxy endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080
      add rule ip kube-proxy service-HA4JRZAW-default/local-np/tcp/ ip daddr 10.96.0.40 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
      add rule ip kube-proxy service-HA4JRZAW-default/local-np/tcp/ numgen random mod 2 vmap { 0 : goto endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080 , 1 : goto endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080 }
      add rule ip kube-proxy external-HA4JRZAW-default/local-np/tcp/ ip saddr 10.244.0.0/16 goto service-HA4JRZAW-default/local-np/tcp/ comment "short-circuit pod traffic"
      add rule ip kube-proxy external-HA4JRZAW-default/local-np/tcp/ fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"
      add rule ip kube-proxy external-HA4JRZAW-default/local-np/tcp/ fib saddr type local goto service-HA4JRZAW-default/local-np/tcp/ comment "short-circuit local traffic"
      add rule ip kube-proxy endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080 ip saddr 10.244.0.6 jump mark-for-masquerade
      add rule ip kube-proxy endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080 meta l4proto tcp dnat to 10.244.0.6:8080
      add rule ip kube-proxy endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080 ip saddr 10.244.1.6 jump mark-for-masquerade
      add rule ip kube-proxy endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080 meta l4proto tcp dnat to 10.244.1.6:8080
      add element ip kube-proxy service-ips { 10.96.0.40 . tcp . 80 : goto service-HA4JRZAW-default/local-np/tcp/ }
      add element ip kube-proxy service-nodeports { tcp . 30080 : goto external-HA4JRZAW-default/local-np/tcp/ }
      add element ip kube-proxy no-endpoint-nodeports { tcp . 30080 comment "default/local-np" : drop }
    `)
      .trimEnd()
      .split('\n'),
  );
});

t.test('internalTrafficPolicy Local on the node with the endpoint: ClusterIP goes to the local chain, which masquerades', async (t) => {
  const lines = renderNftablesSync(lab('node2'))
    .split('\n')
    .filter((l) => l.includes('itp-local'));
  t.same(
    lines,
    script(`
      add chain ip kube-proxy local-B4N6HFAY-default/itp-local/tcp/http
      flush chain ip kube-proxy local-B4N6HFAY-default/itp-local/tcp/http
      add chain ip kube-proxy endpoint-K2MHRJUC-default/itp-local/tcp/http__10.244.1.9/8080
      flush chain ip kube-proxy endpoint-K2MHRJUC-default/itp-local/tcp/http__10.244.1.9/8080
      add rule ip kube-proxy local-B4N6HFAY-default/itp-local/tcp/http ip daddr 10.96.0.30 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
      add rule ip kube-proxy local-B4N6HFAY-default/itp-local/tcp/http numgen random mod 1 vmap { 0 : goto endpoint-K2MHRJUC-default/itp-local/tcp/http__10.244.1.9/8080 }
      add rule ip kube-proxy endpoint-K2MHRJUC-default/itp-local/tcp/http__10.244.1.9/8080 ip saddr 10.244.1.9 jump mark-for-masquerade
      add rule ip kube-proxy endpoint-K2MHRJUC-default/itp-local/tcp/http__10.244.1.9/8080 meta l4proto tcp dnat to 10.244.1.9:8080
      add element ip kube-proxy service-ips { 10.96.0.30 . tcp . 80 : goto local-B4N6HFAY-default/itp-local/tcp/http }
    `)
      .trimEnd()
      .split('\n'),
  );
});

t.test('partial sync, one endpoint replaced: only the chains that changed, the new affinity set, the old chain and set deleted', async (t) => {
  const before = lab('node1');
  const after = copy(before);
  port(after, 'api').endpoints[2] = ep('10.244.2.6', 8080, 'node3', 'node1');
  t.equal(
    renderNftablesSync(after, before),
    script(`
      flush chain ip kube-proxy endpoint-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080

      add chain ip kube-proxy service-FKIP43JP-default/api/tcp/http
      flush chain ip kube-proxy service-FKIP43JP-default/api/tcp/http
      add chain ip kube-proxy endpoint-NBTUKXTP-default/api/tcp/http__10.244.2.6/8080
      flush chain ip kube-proxy endpoint-NBTUKXTP-default/api/tcp/http__10.244.2.6/8080
      add set ip kube-proxy affinity-NBTUKXTP-default/api/tcp/http__10.244.2.6/8080 { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }
      add rule ip kube-proxy service-FKIP43JP-default/api/tcp/http ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
      add rule ip kube-proxy service-FKIP43JP-default/api/tcp/http ip saddr @affinity-BDGXENLX-default/api/tcp/http__10.244.0.5/8080 goto endpoint-BDGXENLX-default/api/tcp/http__10.244.0.5/8080
      add rule ip kube-proxy service-FKIP43JP-default/api/tcp/http ip saddr @affinity-COIOIKUM-default/api/tcp/http__10.244.1.5/8080 goto endpoint-COIOIKUM-default/api/tcp/http__10.244.1.5/8080
      add rule ip kube-proxy service-FKIP43JP-default/api/tcp/http ip saddr @affinity-NBTUKXTP-default/api/tcp/http__10.244.2.6/8080 goto endpoint-NBTUKXTP-default/api/tcp/http__10.244.2.6/8080
      add rule ip kube-proxy service-FKIP43JP-default/api/tcp/http numgen random mod 3 vmap { 0 : goto endpoint-BDGXENLX-default/api/tcp/http__10.244.0.5/8080 , 1 : goto endpoint-COIOIKUM-default/api/tcp/http__10.244.1.5/8080 , 2 : goto endpoint-NBTUKXTP-default/api/tcp/http__10.244.2.6/8080 }
      add rule ip kube-proxy endpoint-NBTUKXTP-default/api/tcp/http__10.244.2.6/8080 ip saddr 10.244.2.6 jump mark-for-masquerade
      add rule ip kube-proxy endpoint-NBTUKXTP-default/api/tcp/http__10.244.2.6/8080 update @affinity-NBTUKXTP-default/api/tcp/http__10.244.2.6/8080 { ip saddr }
      add rule ip kube-proxy endpoint-NBTUKXTP-default/api/tcp/http__10.244.2.6/8080 meta l4proto tcp dnat to 10.244.2.6:8080

      delete chain ip kube-proxy endpoint-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080
      delete set ip kube-proxy affinity-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080
    `),
  );
});

t.test('partial sync, a service removed: its elements deleted, its chains flushed first and deleted last', async (t) => {
  const before = lab('node1');
  const after = copy(before);
  after.services = after.services.filter((s) => s.service !== 'dns');
  t.equal(
    renderNftablesSync(after, before),
    script(`
      flush chain ip kube-proxy service-Z3XHB2ZZ-default/dns/udp/dns
      flush chain ip kube-proxy endpoint-5PXJRRPW-default/dns/udp/dns__10.244.1.7/53
      flush chain ip kube-proxy service-4R6EASBP-default/dns/tcp/dns-tcp
      flush chain ip kube-proxy endpoint-FA3EQVZM-default/dns/tcp/dns-tcp__10.244.1.7/53

      delete element ip kube-proxy cluster-ips { 10.96.0.53 }
      delete element ip kube-proxy service-ips { 10.96.0.53 . udp . 53 }
      delete element ip kube-proxy service-ips { 10.96.0.53 . tcp . 53 }

      delete chain ip kube-proxy service-Z3XHB2ZZ-default/dns/udp/dns
      delete chain ip kube-proxy endpoint-5PXJRRPW-default/dns/udp/dns__10.244.1.7/53
      delete chain ip kube-proxy service-4R6EASBP-default/dns/tcp/dns-tcp
      delete chain ip kube-proxy endpoint-FA3EQVZM-default/dns/tcp/dns-tcp__10.244.1.7/53
    `),
  );
});

t.test('partial sync, one port loses its endpoints: its ClusterIP, shared with the other port, stays; the other port is untouched', async (t) => {
  const before = lab('node1');
  const after = copy(before);
  port(after, 'dns', 'dns-tcp').endpoints = [];
  t.equal(
    renderNftablesSync(after, before),
    script(`
      flush chain ip kube-proxy service-4R6EASBP-default/dns/tcp/dns-tcp
      flush chain ip kube-proxy endpoint-FA3EQVZM-default/dns/tcp/dns-tcp__10.244.1.7/53
      delete element ip kube-proxy service-ips { 10.96.0.53 . tcp . 53 }
      add element ip kube-proxy no-endpoint-services { 10.96.0.53 . tcp . 53 comment "default/dns:dns-tcp" : goto reject-chain }
      delete chain ip kube-proxy service-4R6EASBP-default/dns/tcp/dns-tcp
      delete chain ip kube-proxy endpoint-FA3EQVZM-default/dns/tcp/dns-tcp__10.244.1.7/53
    `),
  );
});

t.test('partial sync, the local endpoint of a Local NodePort goes: outside clients dropped, the local chain deleted', async (t) => {
  const before = lab('node1');
  const after = copy(before);
  port(after, 'local-np').endpoints = port(after, 'local-np').endpoints.filter((e) => !e.isLocal);
  t.equal(
    renderNftablesSync(after, before),
    script(`
      flush chain ip kube-proxy local-HA4JRZAW-default/local-np/tcp/
      flush chain ip kube-proxy endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080
      add chain ip kube-proxy service-HA4JRZAW-default/local-np/tcp/
      flush chain ip kube-proxy service-HA4JRZAW-default/local-np/tcp/
      add chain ip kube-proxy external-HA4JRZAW-default/local-np/tcp/
      flush chain ip kube-proxy external-HA4JRZAW-default/local-np/tcp/
      add rule ip kube-proxy service-HA4JRZAW-default/local-np/tcp/ ip daddr 10.96.0.40 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
      add rule ip kube-proxy service-HA4JRZAW-default/local-np/tcp/ numgen random mod 1 vmap { 0 : goto endpoint-TCIWPHXL-default/local-np/tcp/__10.244.1.6/8080 }
      add rule ip kube-proxy external-HA4JRZAW-default/local-np/tcp/ ip saddr 10.244.0.0/16 goto service-HA4JRZAW-default/local-np/tcp/ comment "short-circuit pod traffic"
      add rule ip kube-proxy external-HA4JRZAW-default/local-np/tcp/ fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"
      add rule ip kube-proxy external-HA4JRZAW-default/local-np/tcp/ fib saddr type local goto service-HA4JRZAW-default/local-np/tcp/ comment "short-circuit local traffic"
      add element ip kube-proxy no-endpoint-nodeports { tcp . 30080 comment "default/local-np" : drop }
      delete chain ip kube-proxy local-HA4JRZAW-default/local-np/tcp/
      delete chain ip kube-proxy endpoint-MS2SG5EY-default/local-np/tcp/__10.244.0.6/8080
    `),
  );
});

t.test('partial sync, affinity timeout changed: the sets are re-created after every rule using them is flushed', async (t) => {
  const before = lab('node1');
  const after = copy(before);
  port(after, 'api').affinityTimeoutSeconds = 600;
  const lines = renderNftablesSync(after, before).trimEnd().split('\n');
  const set = 'affinity-BDGXENLX-default/api/tcp/http__10.244.0.5/8080';
  const flushes = lines.filter((l) => l.startsWith('flush chain'));
  t.same(
    flushes.map((l) => l.split(' ')[4]),
    [
      'service-FKIP43JP-default/api/tcp/http',
      'endpoint-BDGXENLX-default/api/tcp/http__10.244.0.5/8080',
      'endpoint-COIOIKUM-default/api/tcp/http__10.244.1.5/8080',
      'endpoint-D7RC4XKA-default/api/tcp/http__10.244.2.5/8080',
    ],
    'every chain of the port is rewritten, though only the sets changed',
  );
  const deleted = lines.indexOf(`delete set ip kube-proxy ${set}`);
  t.ok(deleted > lines.indexOf(flushes.at(-1)!), 'deleted once no rule refers to it');
  t.equal(lines[deleted + 1], `add set ip kube-proxy ${set} { type ipv4_addr ; flags dynamic,timeout ; timeout 600s ; }`);
  t.ok(lines.findIndex((l) => l.startsWith('add rule')) > deleted + 1, 'rules come after the new set');
  t.notOk(lines.some((l) => l.includes('element')), 'no element changes');
});

t.test('partial sync with nothing to change is empty', async (t) => {
  const before = lab('node1');
  const after = copy(before);
  port(after, 'api').endpoints[1]!.nodeName = 'node9';
  t.equal(renderNftablesSync(copy(before), before), '');
  t.equal(renderNftablesSync(after, before), '', 'an endpoint moving between other nodes changes no rule here');
});

t.test('a node-wide setting changed: full sync, which also deletes what the previous input owned and the new one does not', async (t) => {
  const before = lab('node1');
  before.services = before.services.filter((s) => s.service !== 'web');
  const after = copy(lab('node1'));
  after.services = after.services.filter((s) => s.service !== 'dns');
  after.masqueradeBit = 15;
  const text = renderNftablesSync(after, before);
  t.ok(text.startsWith(script(skeleton('192.168.56.11').replaceAll('0x4000', '0x8000'))), 'the whole skeleton, with the new mark');
  t.match(text, /add chain ip kube-proxy service-EVRFRB6S-default\/web\/tcp\/web\n/);
  const tail = text.trimEnd().split('\n').slice(-4);
  t.same(tail, [
    'delete chain ip kube-proxy service-Z3XHB2ZZ-default/dns/udp/dns',
    'delete chain ip kube-proxy endpoint-5PXJRRPW-default/dns/udp/dns__10.244.1.7/53',
    'delete chain ip kube-proxy service-4R6EASBP-default/dns/tcp/dns-tcp',
    'delete chain ip kube-proxy endpoint-FA3EQVZM-default/dns/tcp/dns-tcp__10.244.1.7/53',
  ]);
  t.ok(text.indexOf('flush chain ip kube-proxy service-Z3XHB2ZZ-default/dns/udp/dns') < text.indexOf('add chain ip kube-proxy service-FKIP43JP'), 'stale chains are flushed early');
});

t.test('load-balancer IPs lead to the external chain; with Local policy and no local endpoint they are dropped', async (t) => {
  const input = lab('node3');
  Object.assign(port(input, 'local-np'), { loadBalancerIPs: ['172.18.255.1'] });
  const elements = renderNftablesSync(input)
    .split('\n')
    .filter((l) => l.startsWith('add element') && l.includes('172.18.255.1'));
  t.same(elements, [
    'add element ip kube-proxy service-ips { 172.18.255.1 . tcp . 80 : goto external-HA4JRZAW-default/local-np/tcp/ }',
    'add element ip kube-proxy no-endpoint-services { 172.18.255.1 . tcp . 80 comment "default/local-np" : drop }',
  ]);
});

t.test('a memo changes no text, and each caller keeps its own', async (t) => {
  const before = lab('node1');
  const after = copy(before);
  port(after, 'api').endpoints.pop();
  const mine = new NftablesMemo();
  t.equal(renderNftablesSync(before, undefined, mine), renderNftablesSync(before), 'full sync, memo or not');
  t.equal(renderNftablesSync(after, before, mine), renderNftablesSync(after, before), 'partial sync, memo or not');
  t.equal(renderNftablesSync(before, undefined, mine), renderNftablesSync(before, undefined, new NftablesMemo()), 'a warm memo and a fresh one give the same text');
  t.ok(mine.names.size > 0, 'the memo holds the names it was asked for');

  const other = new NftablesMemo();
  const elsewhere = copy(before);
  port(elsewhere, 'web').service = 'only-elsewhere';
  renderNftablesSync(elsewhere, undefined, other);
  t.ok([...other.names.keys()].some((k) => k.includes('only-elsewhere')), 'the other memo holds its own names');
  t.notOk([...mine.names.keys()].some((k) => k.includes('only-elsewhere')), 'and they never reach this one');
});
