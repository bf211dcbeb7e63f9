import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { CatalogError, catalogMarkdown, loadCatalog, matchName, shippedCatalogFile, validateCatalogFile, type CatalogFile } from '../names/index.ts';

const HELP = `usage: veil services [--markdown] [--check FILE] [--match NAME...] [--catalog FILE]

The service catalogue that names flows (domain suffixes and port conventions -> service and category).
  --markdown       print the reference page (docs/SERVICES.md) of the shipped catalogue
  --check FILE     validate a catalogue file of your own (same schema as the shipped one)
  --match NAME     print the service and category a name matches (repeatable), with --catalog files merged over
  --catalog FILE   your catalogue, merged over the shipped one (repeatable)
Without options: a one-line summary per category.
`;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      markdown: { type: 'boolean' }, check: { type: 'string' }, match: { type: 'string', multiple: true },
      catalog: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (v.markdown) { process.stdout.write(catalogMarkdown()); return 0; }
  if (v.check) {
    let f: CatalogFile;
    try { f = JSON.parse(readFileSync(v.check, 'utf8')) as CatalogFile; } catch (e) { throw new CatalogError(v.check, (e as Error).message); }
    const errs = validateCatalogFile(f);
    for (const e of errs) process.stderr.write(`${v.check}: ${e}\n`);
    if (!errs.length) process.stdout.write(`${v.check}: valid, ${f.services.length} services\n`);
    return errs.length ? 1 : 0;
  }
  const cat = loadCatalog(v.catalog ?? []);
  if (v.match?.length) {
    for (const n of v.match) {
      const s = matchName(cat, n);
      process.stdout.write(`${n}\t${s ? `${s.name}\t${s.category}\t${s.origin}` : '-'}\n`);
    }
    return 0;
  }
  const f = shippedCatalogFile();
  process.stdout.write(`catalogue ${cat.version}: ${cat.services.length} services\n`);
  const by = new Map<string, number>();
  for (const s of cat.services) by.set(s.category, (by.get(s.category) ?? 0) + 1);
  for (const [c, n] of [...by].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${c.padEnd(18)} ${String(n).padStart(4)}  ${f.categories?.[c] ?? ''}\n`);
  return 0;
}
