/**
 * Live monitoring: early verdicts (early.ts), the live meter and classifier (classifier.ts), live sources sharded over
 * worker threads (source.ts), the terminal's `classify --interface --early N` (terminal.ts).
 */
import { createWriteStream } from 'node:fs';
import type { LiveRecord } from './classifier.ts';

export { earlyPackets, earlyFeatureColumns, checkEarlyTable, EARLY_FAMILIES } from './early.ts';
export { FlowClassifier, LiveMeter, loadModelSet, earlyCutOf, type LiveRecord, type AppliedModel, type VerdictKind } from './classifier.ts';
export { LiveSource, type LiveSourceOptions, type LiveSourceStats } from './source.ts';
export { classifyLiveEarly, earlyLine } from './terminal.ts';

/** Early verdicts as JSON lines beside the main output (`classify -o FILE --early N`: FILE.early.jsonl). */
export function openEarlySidecar(file: string): { write(r: LiveRecord): void; close(): Promise<void> } {
  const out = createWriteStream(file);
  return {
    write: (r) => { out.write(JSON.stringify(r) + '\n'); },
    close: () => new Promise((res) => out.end(() => res())),
  };
}
