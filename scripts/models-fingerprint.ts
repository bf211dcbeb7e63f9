/**
 * Adds the training-row fingerprint (src/model/fingerprint.ts) to a model trained before models carried one, and
 * optionally replaces its name and recorded training source (a build machine's path), without retraining:
 *
 *   node --import tsx scripts/models-fingerprint.ts MODEL DATA [--label COL] [--name NAME] [--source TEXT]
 *
 * DATA must be the table the model was trained on (read as `veil train` reads it: the column-order fix applies).
 * Everything else in the file stays byte for byte (the blobs, their sha256, every other manifest field).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { columnStrings, loadTable, requireColumn } from '../src/dataset/index.ts';
import { deserializeModel, modelInputs, serializeModel } from '../src/model/index.ts';
import { overlap, rowHashes, rowSketch } from '../src/model/fingerprint.ts';

const { values: v, positionals } = parseArgs({
  allowPositionals: true,
  options: { label: { type: 'string' }, name: { type: 'string' }, source: { type: 'string' } },
});
const [modelPath, dataPath] = positionals;
if (!modelPath || !dataPath) {
  process.stderr.write('usage: node --import tsx scripts/models-fingerprint.ts MODEL DATA [--label COL] [--name NAME] [--source TEXT]\n');
  process.exit(2);
}
const model = deserializeModel(new Uint8Array(readFileSync(modelPath)), modelPath);
const m = model.manifest;
const label = v.label ?? m.label;
const { table } = await loadTable(dataPath, { textColumns: [label], warn: (s) => process.stderr.write(`${s}\n`) });
const labels = columnStrings(requireColumn(table, label, 'label column'));
const hashes = rowHashes(modelInputs(model, table), labels);
const labelled = hashes.filter((_, i) => labels[i] !== null);
if (labelled.length !== m.training.rows) {
  process.stderr.write(`warning: ${dataPath} has ${labelled.length} labelled rows, the model was trained on ${m.training.rows}\n`);
}
m.training.rowSketch = rowSketch(labelled);
if (v.name !== undefined) m.name = v.name;
if (v.source !== undefined) m.training.source = v.source;
writeFileSync(modelPath, serializeModel(model));
const check = overlap(m.training.rowSketch, hashes);
process.stderr.write(`${modelPath}: fingerprint of ${labelled.length} rows (${m.training.rowSketch.hashes.length} hashes); ` +
  `the data holds ${(check.ofTraining * 100).toFixed(1)} % of them; name '${m.name}', source '${m.training.source}'\n`);
