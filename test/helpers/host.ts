/**
 * Reads of the host's root namespace (never changes): what tests compare
 * before and after a lab, and what must be left after `down`. The soak
 * (`npm run soak`) uses the same reads.
 */
export { leftovers, rootSnapshot } from '../../dist/bench/host-state.js';
