/**
 * Stopping a live command with Ctrl-C. The terminal sends SIGINT to the whole process group, and the bin/veil.js
 * wrapper passes its own copy on, so the command gets the signal twice: a `process.once` handler took the first and
 * left the second to Node's default, which killed the process before it wrote its last flows and summary. Here the
 * first SIGINT/SIGTERM stops the capture, a repeat is ignored, and only a third (the user insisting) exits at once.
 */
export function onStopSignals(stop: (sig: NodeJS.Signals) => void): () => void {
  let seen = 0;
  const handler = (sig: NodeJS.Signals): void => {
    seen++;
    if (seen === 1) stop(sig);
    else if (seen >= 3) process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
