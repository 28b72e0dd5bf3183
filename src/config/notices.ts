/**
 * What the input asks for that this version does not do. Nothing that could
 * shape the network is dropped without a word: kinds and fields that a later
 * version implements get a notice each, kinds outside the lab's scope get a
 * notice saying they are ignored, and fields that cannot matter (images,
 * resources, volumes) are summarised once so real manifests stay readable.
 */
import type { Notice, SourceRef } from '../spec/lab.js';

/** Kinds a later version builds; until then they are reported, one notice each. */
export const LATER_KINDS: readonly string[] = ['Endpoints', 'EndpointSlice'];

function at(source: SourceRef): string {
  return `${source.file}:${source.line}`;
}

/** `<ns>/<name>`, or just the name when the object names no namespace and is not namespaced. */
export function objectName(name: string, namespace: string | undefined): string {
  return namespace === undefined ? name : `${namespace}/${name}`;
}

export class Notices {
  private readonly list: Notice[] = [];
  /** Field names with no effect, in the order first seen. */
  private readonly noEffect = new Set<string>();

  laterKind(kind: string, name: string, source: SourceRef): void {
    this.list.push({ source, message: `${kind} ${name} at ${at(source)}: not yet supported by this version; it has no effect on the lab` });
  }

  ignoredKind(kind: string, name: string, source: SourceRef): void {
    this.list.push({ source, message: `${kind} ${name} at ${at(source)}: ignored; kind ${kind} does not shape the lab's network` });
  }

  /** A network-relevant field of `what` (e.g. "Pod default/web") that a later version implements. */
  laterField(what: string, field: string, source: SourceRef): void {
    this.list.push({ source, message: `${what} at ${at(source)}: ${field} is not yet supported by this version; it has no effect on the lab` });
  }

  /** Anything else worth saying about `what` at `source`: a part that works differently here, or not yet. */
  about(what: string, source: SourceRef, text: string): void {
    this.list.push({ source, message: `${what} at ${at(source)}: ${text}` });
  }

  noEffectField(field: string): void {
    this.noEffect.add(field);
  }

  /** Every notice in input order, then the one summary of fields with no effect. */
  all(): Notice[] {
    if (this.noEffect.size === 0) return [...this.list];
    return [
      ...this.list,
      { message: `no effect in the lab: ${[...this.noEffect].join(', ')} (accepted; containers run no images, the lab's test server answers on every declared port)` },
    ];
  }
}
