/**
 * The service catalogue: domain suffixes and port conventions mapped to a service and a category. The shipped
 * file (catalog/services.json, schema in catalog/services.schema.json) is versioned; a user's file of the same
 * schema is merged over it (`--catalog FILE`: on a conflict, theirs wins).
 *
 * Matching is on label boundaries: `teams.microsoft.com` matches the suffix `microsoft.com`, `notmicrosoft.com`
 * does not; the longest matching suffix wins.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { delimiter, resolve } from 'node:path';
import { VeilError } from '../core/errors.ts';

export const CATEGORIES = [
  'streaming', 'file_transfer', 'voip', 'browsing', 'chat', 'mail', 'vpn', 'gaming', 'social', 'cloud',
  'software_update', 'remote_access', 'ads_analytics', 'network_services',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** tcp/udp rules name a port; ip rules an IP protocol number (ESP, GRE, OSPF, ICMP). */
export type Transport = 'tcp' | 'udp' | 'ip';

/** One service as written in a catalogue file. */
export interface ServiceEntry {
  name: string;
  category: Category;
  /** Domain suffixes, lower case, no leading dot or wildcard. */
  domains?: string[];
  /** Port conventions: 'udp/53', 'tcp/137-139'. Only where the convention is strong. */
  ports?: string[];
  /** The ports are a weak convention (HTTPS on 443): the verdict takes them last, at low confidence, and a sure
   * behaviour model overrides them. */
  weak?: boolean;
  note?: string;
}

export interface CatalogFile {
  $schema?: string;
  version: string;
  description?: string;
  /** Our categories and their meaning (the shipped file lists all of them). */
  categories?: Record<string, string>;
  /** nDPI category name -> ours (null: no counterpart). */
  ndpiCategories?: Record<string, Category | null>;
  services: ServiceEntry[];
}

export interface Service {
  name: string;
  category: Category;
  /** Where the entry came from: the shipped file or a user's. */
  origin: string;
  /** Its port rules are a weak convention (see {@link ServiceEntry.weak}). */
  weak: boolean;
}

export interface Catalog {
  version: string;
  services: Service[];
  categories: Record<string, string>;
  ndpiCategories: Record<string, Category | null>;
  bySuffix: Map<string, Service>;
  /** Key `transport/port` -> service. */
  byPort: Map<string, Service>;
}

export const CatalogErrorCode = { BAD_CATALOG: 'BAD_CATALOG' } as const;
export type CatalogErrorCode = (typeof CatalogErrorCode)[keyof typeof CatalogErrorCode];

export class CatalogError extends VeilError {
  constructor(file: string, detail: string) {
    super('BAD_CATALOG', `${file}: ${detail}`);
    this.name = 'CatalogError';
  }
}

/** Path of the shipped catalogue file (a function: resolved when asked, not when the module loads). */
export function shippedCatalogPath(): string {
  return fileURLToPath(new URL('./catalog/services.json', import.meta.url));
}

const PORT_RULE = /^(tcp|udp|ip)\/(\d{1,5})(?:-(\d{1,5}))?$/;
const DOMAIN = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,62})\.)*[a-z0-9](?:[a-z0-9-]{0,62})$/;

/** Expands 'udp/137-139' into its keys; throws on a malformed rule. */
export function portKeys(rule: string): string[] {
  const m = PORT_RULE.exec(rule);
  if (!m) throw new Error(`port rule '${rule}' is not transport/port or transport/low-high`);
  const lo = Number(m[2]), hi = m[3] ? Number(m[3]) : lo;
  if ((m[1] === 'ip' ? hi > 255 : lo < 1 || hi > 65535) || hi < lo || hi - lo > 1024) throw new Error(`port rule '${rule}' out of range`);
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${m[1]}/${p}`);
  return out;
}

/**
 * Checks one catalogue file against the schema's rules that JSON Schema cannot state (no suffix or port claimed
 * by two services, categories known) and returns the problems found ([] when valid).
 */
export function validateCatalogFile(f: CatalogFile): string[] {
  const errs: string[] = [];
  if (typeof f !== 'object' || f === null) return ['not a JSON object'];
  if (typeof f.version !== 'string' || !f.version) errs.push('"version" must be a non-empty string');
  if (!Array.isArray(f.services)) return [...errs, '"services" must be an array'];
  const known = new Set<string>(CATEGORIES);
  const suffixes = new Map<string, string>();
  const ports = new Map<string, string>();
  const names = new Set<string>();
  f.services.forEach((s, i) => {
    const at = `services[${i}]${s && typeof s.name === 'string' ? ` (${s.name})` : ''}`;
    if (!s || typeof s.name !== 'string' || !s.name) { errs.push(`${at}: "name" must be a non-empty string`); return; }
    if (names.has(s.name)) errs.push(`${at}: service name listed twice`);
    names.add(s.name);
    if (!known.has(s.category)) errs.push(`${at}: unknown category '${String(s.category)}' (known: ${CATEGORIES.join(', ')})`);
    for (const d of s.domains ?? []) {
      if (typeof d !== 'string' || !DOMAIN.test(d)) { errs.push(`${at}: domain '${String(d)}' is not a lower-case domain suffix`); continue; }
      const other = suffixes.get(d);
      if (other !== undefined && other !== s.name) errs.push(`${at}: suffix '${d}' already claimed by ${other}`);
      suffixes.set(d, s.name);
    }
    for (const r of s.ports ?? []) {
      let keys: string[];
      try { keys = portKeys(r); } catch (e) { errs.push(`${at}: ${(e as Error).message}`); continue; }
      for (const k of keys) {
        const other = ports.get(k);
        if (other !== undefined && other !== s.name) errs.push(`${at}: port ${k} already claimed by ${other}`);
        ports.set(k, s.name);
      }
    }
    if (!(s.domains?.length) && !(s.ports?.length)) errs.push(`${at}: neither domains nor ports`);
    if (s.weak !== undefined && typeof s.weak !== 'boolean') errs.push(`${at}: "weak" must be true or false`);
  });
  for (const [n, c] of Object.entries(f.ndpiCategories ?? {})) {
    if (c !== null && !known.has(c)) errs.push(`ndpiCategories.${n}: unknown category '${String(c)}'`);
  }
  return errs;
}

function readCatalogFile(file: string): CatalogFile {
  let f: CatalogFile;
  try {
    f = JSON.parse(readFileSync(file, 'utf8')) as CatalogFile;
  } catch (e) {
    throw new CatalogError(file, `cannot read the catalogue: ${(e as Error).message}`);
  }
  const errs = validateCatalogFile(f);
  if (errs.length) throw new CatalogError(file, `${errs.length} problem${errs.length > 1 ? 's' : ''}: ${errs.slice(0, 5).join('; ')}`);
  return f;
}

/** Builds a catalogue from files, later files winning on a conflicting suffix or port. */
export function buildCatalog(files: { file: CatalogFile; origin: string }[]): Catalog {
  const bySuffix = new Map<string, Service>();
  const byPort = new Map<string, Service>();
  const services: Service[] = [];
  const categories: Record<string, string> = {};
  const ndpiCategories: Record<string, Category | null> = {};
  let version = '';
  for (const { file, origin } of files) {
    version = version ? `${version}+${file.version}` : file.version;
    Object.assign(categories, file.categories ?? {});
    Object.assign(ndpiCategories, file.ndpiCategories ?? {});
    for (const e of file.services) {
      const s: Service = { name: e.name, category: e.category, origin, weak: e.weak === true };
      services.push(s);
      for (const d of e.domains ?? []) bySuffix.set(d, s);
      for (const r of e.ports ?? []) for (const k of portKeys(r)) byPort.set(k, s);
    }
  }
  return { version, services, categories, ndpiCategories, bySuffix, byPort };
}

/** Environment variable through which `veil serve --catalog` / `veil worker --catalog` hand the user's catalogue
 * files (path.delimiter-separated, already validated) to the job threads. */
export const CATALOG_ENV = 'VEIL_CATALOG';

/** The user's catalogue files named by {@link CATALOG_ENV} ([] when unset). */
export function catalogFilesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[CATALOG_ENV] ?? '').split(delimiter).filter(Boolean);
}

let shipped: CatalogFile | null = null;

/** The shipped file, parsed once. */
export function shippedCatalogFile(): CatalogFile {
  return (shipped ??= readCatalogFile(shippedCatalogPath()));
}

/**
 * The shipped catalogue, with the user's files (if any) merged over it.
 *
 * @example
 * const cat = loadCatalog(['my-services.json']);
 * matchName(cat, 'teams.microsoft.com')?.name; // 'Microsoft Teams'
 */
export function loadCatalog(userFiles: readonly string[] = []): Catalog {
  return buildCatalog([
    { file: shippedCatalogFile(), origin: 'shipped' },
    ...userFiles.map((f) => ({ file: readCatalogFile(f), origin: f })),
  ]);
}

/**
 * `--catalog FILE...` of serve/worker: validates the files now (a bad file fails at start, not in a job) and names
 * them in {@link CATALOG_ENV} for the job threads, which inherit the environment.
 */
export function exportCatalogFiles(files: readonly string[], env: NodeJS.ProcessEnv = process.env): Catalog {
  const abs = files.map((f) => resolve(f));
  const cat = loadCatalog(abs);
  if (abs.length) env[CATALOG_ENV] = abs.join(delimiter);
  return cat;
}

/** Normalises a name for matching: lower case, no wildcard label, no trailing dot. */
export function normaliseName(name: string): string {
  let n = name.trim().toLowerCase();
  if (n.startsWith('*.')) n = n.slice(2);
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

const byName = new WeakMap<Catalog, Map<string, Service>>();

/** The catalogued service called `name` (as an application model answers it), or null. */
export function serviceNamed(cat: Catalog, name: string): Service | null {
  let m = byName.get(cat);
  if (!m) { m = new Map(cat.services.map((s) => [s.name, s])); byName.set(cat, m); }
  return m.get(name) ?? null;
}

/** The service whose longest suffix matches `name` on a label boundary, or null. */
export function matchName(cat: Catalog, name: string): Service | null {
  let n = normaliseName(name);
  if (!n) return null;
  for (;;) {
    const s = cat.bySuffix.get(n);
    if (s !== undefined) return s;
    const dot = n.indexOf('.');
    if (dot < 0) return null;
    n = n.slice(dot + 1);
  }
}

/** The service of a port convention (TCP/UDP: the given port; other IP protocols: the protocol number), or null. */
export function matchPort(cat: Catalog, proto: number, port: number): Service | null {
  if (proto !== 6 && proto !== 17) return cat.byPort.get(`ip/${proto}`) ?? null;
  return cat.byPort.get(`${proto === 6 ? 'tcp' : 'udp'}/${port}`) ?? null;
}
