/**
 * Waiting for an event instead of a duration: `f` is asked every `every` ms
 * until it gives a value (anything but undefined, null or false), which is
 * returned. At `timeout` it gives up: undefined, or, with `what`, an error
 * naming what never happened. The timeout is a safety net for a test that
 * would otherwise hang, never the thing asserted.
 */
export async function eventually<T>(f: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts: { timeout?: number; every?: number; what?: string } = {}): Promise<T | undefined> {
  const end = Date.now() + (opts.timeout ?? 10_000);
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) {
      if (opts.what !== undefined) throw new Error(`timed out waiting for ${opts.what}`);
      return undefined;
    }
    await new Promise((r) => setTimeout(r, opts.every ?? 50));
  }
}
