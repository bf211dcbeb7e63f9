import { parseArgs } from 'node:util';
import { featureReference } from '../flow/reference.ts';

const HELP = `usage: veil features [--markdown | --json]

Prints the reference of every column 'veil extract' writes: name, role, type, unit, direction and meaning,
generated from the feature definitions themselves.
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { markdown: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) { process.stdout.write(HELP); return 0; }
  process.stdout.write(featureReference(values.json ? 'json' : 'markdown'));
  return 0;
}
