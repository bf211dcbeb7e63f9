/**
 * Stopping a live command with Ctrl-C. The terminal sends SIGINT to the whole process group, and the bin/veil.js
 * wrapper passes its own copy on, so the command gets the signal twice: a `process.once` handler took the first and
 * left the second to Node's default, which killed the process before it wrote its last flows and summary. Here the
 * first SIGINT/SIGTERM stops the capture, copies arriving within a second are ignored, and a signal after that (the
 * user insisting) exits at once.
 */
const REPEAT_MS = 1000;

export function onStopSignals(stop: (sig: NodeJS.Signals) => void): () => void {
  let first = 0;
  const handler = (sig: NodeJS.Signals): void => {
    const now = Date.now();
    if (first === 0) { first = now; stop(sig); return; }
    // Copies of the same Ctrl-C arrive within milliseconds; a signal a second later is the user insisting.
    if (now - first >= REPEAT_MS) process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
