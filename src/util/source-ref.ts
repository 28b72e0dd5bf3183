/** Where an object came from, for messages that point at the line to fix. */
export interface SourceRef {
  file: string;
  /** 1-based line of the object (or field) in `file`. */
  line: number;
  /** 1-based column, when known. */
  col?: number;
}
