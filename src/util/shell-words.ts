/** Commands shown to a user to copy: words a shell keeps as they are stay bare (a # only inside a word, where it starts no comment), the rest single-quoted. Never executed by a shell here. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((w) => (/^[\w./:@%+=,-][\w./:@%+=,#-]*$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
