/**
 * YAML documents with positions: a `Cursor` walks a parsed document and can
 * say, for any value or key, which file and line it came from, so every
 * problem points at the line to fix.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { SourceRef } from '../model/types.js';
import type { ConfigProblem } from '../util/errors.js';

export class Cursor {
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    readonly node: Node | null | undefined,
    private readonly fallback: SourceRef,
  ) {}

  private at(offset: number | undefined): SourceRef {
    if (offset === undefined) return this.fallback;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }

  /** Where this value starts. */
  get ref(): SourceRef {
    return this.at(this.node?.range?.[0]);
  }

  get exists(): boolean {
    return this.node !== undefined && this.node !== null;
  }

  get isMap(): boolean {
    return isMap(this.node);
  }

  get isSeq(): boolean {
    return isSeq(this.node);
  }

  /** The plain JavaScript value (maps to objects, sequences to arrays). */
  get value(): unknown {
    if (!this.node) return undefined;
    return (this.node as { toJSON?: () => unknown }).toJSON?.() ?? (isScalar(this.node) ? this.node.value : undefined);
  }

  keys(): string[] {
    if (!isMap(this.node)) return [];
    return this.node.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key));
  }

  /** The child under `key` of a map. */
  get(key: string): Cursor {
    if (isMap(this.node)) {
      const pair = this.node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      if (pair) return new Cursor(this.file, this.lines, pair.value as Node | null, this.keyRef(key));
    }
    return new Cursor(this.file, this.lines, undefined, this.ref);
  }

  /** Where `key` is written in this map (or the map itself when absent). */
  keyRef(key: string): SourceRef {
    if (isMap(this.node)) {
      const pair = this.node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (pair && isScalar(pair.key)) return this.at(pair.key.range?.[0]);
    }
    return this.ref;
  }

  items(): Cursor[] {
    if (!isSeq(this.node)) return [];
    return this.node.items.map((n) => new Cursor(this.file, this.lines, n as Node | null, this.ref));
  }
}

export interface SourceDocument {
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  root: Cursor;
}

/** Splits a file into documents; syntax errors become problems with their line and column. */
export function parseDocuments(file: string, text: string, problems: ConfigProblem[]): SourceDocument[] {
  const lines = new LineCounter();
  const docs: Document.Parsed[] = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false }) as Document.Parsed[];
  const out: SourceDocument[] = [];
  let syntaxError = false;
  for (const doc of docs) {
    for (const err of doc.errors) {
      syntaxError = true;
      const { line, col } = lines.linePos(err.pos[0]);
      problems.push({ code: 'yaml-syntax', source: { file, line, col }, message: `YAML syntax error: ${err.message.split('\n')[0]}` });
    }
  }
  if (syntaxError) return [];
  docs.forEach((doc, index) => {
    if (doc.contents === null || doc.contents === undefined) return; // an empty document between separators
    out.push({ file, index, root: new Cursor(file, lines, doc.contents as Node, { file, line: 1 }) });
  });
  return out;
}
