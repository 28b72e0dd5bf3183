/**
 * Multi-document YAML with positions. A `Cursor` walks one parsed document
 * and can say, for any value or key, which file, line and column it came from,
 * so every problem points at the line to fix.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair } from 'yaml';
import type { SourceRef } from '../spec/lab.js';
import type { ConfigProblem } from '../util/errors.js';

export interface SourceText {
  file: string;
  text: string;
}

export class Cursor {
  readonly node: Node | undefined;

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    private readonly doc: Document.Parsed,
    node: unknown,
    /** Where to point when the node is absent: where its key would go. */
    private readonly fallback: SourceRef,
    /** Where the key of this value is written, when it has one. */
    private readonly keyAt?: SourceRef,
  ) {
    // Aliases are followed so that anchors in real manifests read like the values they name.
    const resolved = isAlias(node) ? node.resolve(doc) : node;
    this.node = resolved === null ? undefined : (resolved as Node | undefined);
  }

  private position(offset: number | undefined): SourceRef {
    if (offset === undefined) return this.fallback;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }

  /** Where this value starts (or, when absent, where it would belong). */
  get ref(): SourceRef {
    return this.position(this.node?.range?.[0]);
  }

  /**
   * Where this value is introduced: its key when it has one (the `spec:` line
   * of a block mapping), else its start. Problems about something missing
   * from a mapping point here.
   */
  get at(): SourceRef {
    return this.keyAt ?? this.ref;
  }

  /** Present and not an explicit null (`key:` with nothing after it counts as absent). */
  get exists(): boolean {
    return this.node !== undefined && !(isScalar(this.node) && this.node.value === null);
  }

  get isMap(): boolean {
    return isMap(this.node);
  }

  get isSeq(): boolean {
    return isSeq(this.node);
  }

  /** The plain JavaScript value (maps to objects, sequences to arrays). */
  get value(): unknown {
    if (!this.exists) return undefined;
    return this.node!.toJS(this.doc);
  }

  private pairs(): Pair[] {
    return isMap(this.node) ? this.node.items.filter((p): p is Pair => isPair(p)) : [];
  }

  private static keyText(pair: Pair): string {
    return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
  }

  keys(): string[] {
    return this.pairs().map((p) => Cursor.keyText(p));
  }

  /** The value under `key` of a map; absent when this is not a map or has no such key. */
  get(key: string): Cursor {
    const pair = this.pairs().find((p) => Cursor.keyText(p) === key);
    const keyAt = pair ? this.keyRef(key) : undefined;
    return new Cursor(this.file, this.lines, this.doc, pair?.value ?? undefined, keyAt ?? this.at, keyAt);
  }

  /** Where `key` is written in this map (the map itself when absent). */
  keyRef(key: string): SourceRef {
    const pair = this.pairs().find((p) => Cursor.keyText(p) === key);
    const range = (pair?.key as Node | undefined)?.range;
    return range ? this.position(range[0]) : this.ref;
  }

  items(): Cursor[] {
    if (!isSeq(this.node)) return [];
    return this.node.items.map((n) => new Cursor(this.file, this.lines, this.doc, n, this.ref));
  }
}

export interface SourceDocument {
  file: string;
  root: Cursor;
}

/**
 * Splits a file into its documents. A file with a syntax error yields no
 * documents: what follows the error is guesswork, and checking guesses would
 * only bury the real problem under invented ones.
 */
export function parseDocuments(source: SourceText, problems: ConfigProblem[]): SourceDocument[] {
  const { file, text } = source;
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const docs = Array.isArray(parsed) ? parsed : [];
  let failed = false;
  for (const err of docs.flatMap((d) => d.errors)) {
    failed = true;
    const { line, col } = lines.linePos(err.pos[0]);
    problems.push({ code: 'yaml-syntax', source: { file, line, col }, message: `YAML syntax error: ${err.message.split('\n')[0]}` });
  }
  if (failed) return [];
  const out: SourceDocument[] = [];
  for (const doc of docs) {
    // A document holding only comments, or nothing between two `---`.
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
    out.push({ file, root: new Cursor(file, lines, doc, doc.contents, { file, line: 1 }) });
  }
  return out;
}
