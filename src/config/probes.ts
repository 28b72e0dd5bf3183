/**
 * A container's readinessProbe. Readiness decides which pods are service
 * endpoints, so a probe is read strictly: a misspelt field would silently
 * change when traffic arrives. Probes the lab cannot run (exec, grpc: the
 * containers run no images) leave the container ready, with a notice.
 */
import type { ProbeSpec } from '../spec/services.js';
import { PROBE_DEFAULTS } from '../spec/services.js';
import type { SourceRef } from '../spec/lab.js';
import type { Cursor } from './documents.js';
import { describe, type Reader } from './fields.js';
import { portNameProblem } from './names.js';
import type { Notices } from './notices.js';

const PROBE_FIELDS = ['httpGet', 'tcpSocket', 'exec', 'grpc', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'];
const HANDLERS = ['httpGet', 'tcpSocket', 'exec', 'grpc'] as const;
const HTTP_FIELDS = ['path', 'port', 'host', 'scheme', 'httpHeaders'];
const TCP_FIELDS = ['port', 'host'];
const INT32_MAX = 2_147_483_647;

export interface ReadProbe {
  /** Undefined when the probe cannot run here: the container then counts as ready. */
  probe?: ProbeSpec;
  /** Where a named port is written, to check it against the container's ports. */
  portRef?: SourceRef;
}

/** A probe port: a number, or the name of one of the container's ports. */
function readProbePort(c: Cursor, where: string, r: Reader): number | string | undefined {
  if (!r.required(c, `${where}.port`, ', a number or the name of one of the container ports')) return undefined;
  const v = c.value;
  if (typeof v === 'string') {
    const problem = portNameProblem(v, `${where}.port`);
    if (problem) r.add('bad-name', c.ref, /^\d+$/.test(v) ? `${where}.port "${v}" is a quoted number; write it unquoted: ${v}` : problem);
    return problem ? undefined : v;
  }
  return r.integer(c, `${where}.port`, 1, 65535);
}

type TimingField = Exclude<keyof typeof PROBE_DEFAULTS, 'httpPath'>;

/** Kubernetes defaults a zero, as an absent value, for these. */
function timing(probe: Cursor, field: TimingField, where: string, r: Reader): number {
  const v = r.integer(probe.get(field), `${where}.${field}`, 0, INT32_MAX);
  return v === undefined || v === 0 ? PROBE_DEFAULTS[field] : v;
}

/** Reads `readinessProbe` of the container described by `what` (e.g. "Pod default/web container web"). */
export function readReadinessProbe(probe: Cursor, what: string, r: Reader, notices: Notices): ReadProbe {
  const where = `${what}: readinessProbe`;
  r.strict(probe, PROBE_FIELDS, where);
  if (!probe.isMap) return {};
  const handlers = HANDLERS.filter((h) => probe.get(h).exists);
  if (handlers.length !== 1) {
    r.add(
      handlers.length ? 'bad-value' : 'missing-field',
      handlers.length ? probe.keyRef(handlers[1]!) : probe.ref,
      handlers.length
        ? `${where} has ${handlers.join(' and ')}; a probe has exactly one of httpGet, tcpSocket, exec, grpc`
        : `${where} needs one of httpGet, tcpSocket, exec or grpc, e.g. readinessProbe: {httpGet: {path: /ready, port: 8080}}`,
    );
    return {};
  }
  if (probe.get('terminationGracePeriodSeconds').exists) {
    r.add('bad-value', probe.keyRef('terminationGracePeriodSeconds'), `${where}.terminationGracePeriodSeconds must not be set for a readinessProbe (Kubernetes allows it on liveness and startup probes only)`);
  }
  const times = {
    initialDelaySeconds: timing(probe, 'initialDelaySeconds', where, r),
    periodSeconds: timing(probe, 'periodSeconds', where, r),
    timeoutSeconds: timing(probe, 'timeoutSeconds', where, r),
    successThreshold: timing(probe, 'successThreshold', where, r),
    failureThreshold: timing(probe, 'failureThreshold', where, r),
  };

  const kind = handlers[0]!;
  const h = probe.get(kind);
  if (kind === 'exec' || kind === 'grpc') {
    if (!r.map(h, `${where}.${kind}`)) return {};
    const why = kind === 'exec' ? 'exec probes cannot run in the lab (containers run no images)' : "grpc probes cannot run in the lab (the test server speaks HTTP and UDP echo, not gRPC health)";
    notices.about(what, probe.keyRef(kind), `readinessProbe.${kind}: ${why}; the container counts as ready while it runs`);
    return {};
  }
  r.strict(h, kind === 'httpGet' ? HTTP_FIELDS : TCP_FIELDS, `${where}.${kind}`);
  if (!h.isMap) {
    if (!h.exists) r.add('missing-field', h.at, `${where}.${kind} needs a port, e.g. ${kind}: {port: 8080}`);
    return {};
  }
  // The probe goes to the pod IP; another host would be a different network path the lab does not build.
  if (h.get('host').exists) r.add('bad-value', h.keyRef('host'), `${where}.${kind}.host is not supported by the lab: probes go to the pod IP; remove host`);
  const portC = h.get('port');
  const port = readProbePort(portC, `${where}.${kind}`, r);
  let path: string = PROBE_DEFAULTS.httpPath;
  if (kind === 'httpGet') {
    const scheme = h.get('scheme');
    if (scheme.exists && scheme.value !== 'HTTP') {
      const https = scheme.value === 'HTTPS' ? ": the lab's test server answers plain HTTP, so an HTTPS probe would never pass" : '';
      r.add('bad-value', scheme.ref, `${where}.httpGet.scheme must be HTTP, not ${describe(scheme.value)}${https}; remove scheme or write HTTP`);
    }
    if (h.get('httpHeaders').exists) notices.noEffectField('httpHeaders');
    const written = r.string(h.get('path'), `${where}.httpGet.path`);
    // The kubelet sends a path without a leading '/' as if it had one.
    if (written !== undefined) path = written.startsWith('/') ? written : `/${written}`;
  }
  if (port === undefined) return {};
  const handler: ProbeSpec['handler'] = kind === 'httpGet' ? { kind, path, port } : { kind, port };
  return { probe: { handler, ...times }, ...(typeof port === 'string' ? { portRef: portC.ref } : {}) };
}
