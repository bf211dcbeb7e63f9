import { ColumnBuilder, StringColumnBuilder, makeTable, type Column, type Table } from './table.ts';
import { DatasetError, DatasetErrorCode } from './errors.ts';
import { readLineBatches, splitLines, type LineReadOptions } from './lines.ts';
import { sizeText, tableLimits, type TableLimits } from './limits.ts';

/**
 * ARFF reader (Weka's format): `@relation`, `@attribute NAME numeric|real|integer|string|date|{nominal,...}`,
 * `@data`, `%` comments, quoted names and values ('...' or "..." with backslash escapes), `?` for missing, sparse
 * rows `{index value, ...}`. Tolerates the ISCX quirks: header lines ending in runs of commas (`@DATA,,,,`) and
 * blank data lines made only of commas (skipped with a notice).
 *
 * Nominal attributes become text columns whose dictionary is the declared value list, in declared order.
 */
export interface ArffAttribute {
  name: string;
  type: 'numeric' | 'string' | 'date' | 'nominal';
  /** Declared values of a nominal attribute. */
  values?: string[];
}

export interface ArffHeader {
  relation: string;
  attributes: ArffAttribute[];
}

export interface ArffReadOptions {
  chunkRows?: number;
  warn?: (message: string) => void;
  /** Caps on attributes (columns) and line length (defaults: TABLE_LIMITS). */
  limits?: TableLimits;
  /** Receives the fraction of the file consumed (compressed bytes for `.gz`). */
  onProgress?: (fraction: number) => void;
}

export class ArffParser {
  header: ArffHeader = { relation: '', attributes: [] };
  private inData = false;
  private lineNo = 0;
  private builders: (ColumnBuilder | StringColumnBuilder)[] = [];
  private nominal: (Map<string, true> | null)[] = [];
  private blankDataLines = 0;
  private firstBlankLine = 0;
  rows = 0;
  private taken = 0;
  readonly ready: Table[] = [];

  private readonly maxColumns: number;
  private readonly maxLine: number;
  private readonly names = new Set<string>();
  private readonly maxNominal: number;
  private nominalValues = 0;

  constructor(private readonly source: string, private readonly opts: ArffReadOptions = {}) {
    const l = tableLimits(opts.limits);
    this.maxColumns = l.maxColumns;
    this.maxLine = l.maxLineBytes;
    this.maxNominal = l.maxNominalValues;
  }

  push(lines: readonly string[]): void {
    for (const line of lines) {
      this.lineNo++;
      if (line.length > this.maxLine) this.fail(`line longer than ${sizeText(this.maxLine)} (the limit)`);
      if (this.inData) {
        this.dataLine(line);
        if (this.opts.chunkRows && this.rows - this.taken >= this.opts.chunkRows) this.ready.push(this.take());
      } else this.headerLine(line);
    }
  }

  private fail(msg: string, column?: string): never {
    const col = column === undefined ? '' : `, column '${column}'`;
    throw new DatasetError(DatasetErrorCode.MALFORMED, `${this.source}:${this.lineNo}${col}: ${msg}`);
  }

  private headerLine(raw: string): void {
    // ISCX writes every header line followed by a run of commas; those never carry meaning in a header.
    const line = trimCommas(raw.trim()).trim();
    if (line === '' || line.startsWith('%')) return;
    if (line[0] !== '@') this.fail(`expected @relation, @attribute or @data before data, found '${line.slice(0, 40)}'`);
    const m = /^@(\w+)\s*(.*)$/.exec(line);
    const kw = m?.[1]?.toLowerCase();
    const rest = m?.[2] ?? '';
    if (kw === 'relation') {
      this.header.relation = unquote(rest.trim());
    } else if (kw === 'attribute') {
      if (this.header.attributes.length >= this.maxColumns) this.fail(`more than ${this.maxColumns} attributes (the limit)`);
      const a = this.attribute(rest);
      if (this.names.has(a.name)) this.fail(`attribute '${a.name.slice(0, 40)}' declared twice`);
      this.names.add(a.name);
      this.header.attributes.push(a);
    } else if (kw === 'data') {
      if (!this.header.attributes.length) this.fail('@data before any @attribute');
      this.inData = true;
      this.startColumns();
    } else if (kw === 'end') {
      // @end closes a relational attribute; nothing to do at top level.
    } else {
      this.fail(`unknown declaration '@${m?.[1] ?? ''}'`);
    }
  }

  private attribute(rest: string): ArffAttribute {
    const [name, after] = takeToken(rest.trim());
    if (!name) this.fail('@attribute without a name');
    const t = after.trim();
    if (t.startsWith('{')) {
      const close = t.lastIndexOf('}');
      if (close < 0) this.fail(`nominal list of '${name}' is not closed with '}'`);
      const values = splitValues(t.slice(1, close)).map((v) => v.trim()).filter((v) => v !== '').map(unquote);
      // Every chunk's builders are seeded with the declared values: their total bounds per-chunk work and memory.
      this.nominalValues += values.length;
      if (this.nominalValues > this.maxNominal) {
        this.fail(`more than ${this.maxNominal} nominal values declared in all (the limit), '${name.slice(0, 40)}' declares ${values.length}`);
      }
      return { name, type: 'nominal', values };
    }
    const type = t.split(/\s+/)[0]!.toLowerCase();
    if (type === 'numeric' || type === 'real' || type === 'integer') return { name, type: 'numeric' };
    if (type === 'string') return { name, type: 'string' };
    if (type === 'date') return { name, type: 'date' };
    if (type === 'relational') this.fail(`relational attribute '${name}' is not supported`);
    this.fail(`attribute '${name}' has unknown type '${t}'`);
  }

  private startColumns(): void {
    this.builders = this.header.attributes.map((a) =>
      a.type === 'numeric' ? new ColumnBuilder(a.name, 'number') : new StringColumnBuilder(a.name),
    );
    this.nominal = this.header.attributes.map((a) => (a.type === 'nominal' ? new Map(a.values!.map((v) => [v, true as const])) : null));
    // Nominal dictionaries follow the declared order, so class indices match Weka's.
    this.header.attributes.forEach((a, i) => {
      if (a.type === 'nominal') for (const v of a.values!) (this.builders[i] as StringColumnBuilder).push(v);
    });
    this.seeded = this.header.attributes.map((a) => (a.type === 'nominal' ? a.values!.length : 0));
  }

  private seeded: number[] = [];

  private dataLine(raw: string): void {
    const line = raw.trim();
    if (line === '' || line[0] === '%') return;
    const attrs = this.header.attributes;
    let fields: (string | null)[];
    if (line[0] === '{') {
      fields = this.sparse(line);
    } else {
      const parts = line.indexOf("'") >= 0 || line.indexOf('"') >= 0 ? splitValues(line) : line.split(',');
      if (parts.every((p) => p.trim() === '')) {
        if (this.blankDataLines++ === 0) this.firstBlankLine = this.lineNo;
        return;
      }
      if (parts.length !== attrs.length) {
        while (parts.length > attrs.length && parts[parts.length - 1]!.trim() === '') parts.pop();
        // A trailing {weight} is Weka's instance weight: ignored.
        if (parts.length === attrs.length + 1 && /^\{.*\}$/.test(parts[parts.length - 1]!.trim())) parts.pop();
        if (parts.length !== attrs.length) {
          this.fail(`${parts.length} values, the header declares ${attrs.length} attributes`);
        }
      }
      fields = parts.map((p) => {
        const v = p.trim();
        return v === '?' ? null : unquote(v);
      });
    }
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i]!;
      const v = fields[i] ?? null;
      const b = this.builders[i]!;
      if (b instanceof ColumnBuilder) {
        if (v === null) b.pushMissing();
        else if (v.trim() === '' || !b.pushText(v)) this.fail(`'${v}' is not a number`, a.name);
      } else {
        if (v !== null && this.nominal[i] && !this.nominal[i]!.has(v)) {
          this.fail(`'${v}' is not one of the declared values {${a.values!.join(',')}}`, a.name);
        }
        b.push(v);
      }
    }
    this.rows++;
  }

  private sparse(line: string): (string | null)[] {
    const close = line.lastIndexOf('}');
    if (close < 0) this.fail('sparse row without closing }');
    const attrs = this.header.attributes;
    // Absent entries of a sparse row are 0 (numeric) or the first declared value (nominal).
    const fields: (string | null)[] = attrs.map((a) => (a.type === 'nominal' ? a.values![0] ?? null : a.type === 'numeric' ? '0' : ''));
    for (const item of splitValues(line.slice(1, close))) {
      const s = item.trim();
      if (!s) continue;
      const m = /^(\d+)\s+(.*)$/.exec(s);
      if (!m) this.fail(`bad sparse entry '${s}'`);
      const idx = Number(m[1]);
      if (idx >= attrs.length) this.fail(`sparse index ${idx} beyond ${attrs.length} attributes`);
      const v = m[2]!.trim();
      fields[idx] = v === '?' ? null : unquote(v);
    }
    return fields;
  }

  get pendingRows(): number {
    return this.rows - this.taken;
  }

  take(): Table {
    const cols: Column[] = this.builders.map((b, i) => {
      const c = b.finish();
      const skip = this.seeded[i] ?? 0;
      if (c.kind === 'string' && skip) return { ...c, codes: c.codes.subarray(skip) };
      return c;
    });
    // Rebuild empty builders (keeping nominal dictionaries) for the next chunk.
    this.startColumns();
    this.taken = this.rows;
    return makeTable(this.source, cols);
  }

  end(): void {
    if (!this.inData) throw new DatasetError(DatasetErrorCode.MALFORMED, `${this.source}: no @data section`);
    if (this.blankDataLines) {
      this.opts.warn?.(`${this.source}: skipped ${this.blankDataLines} blank data line(s) (first at line ${this.firstBlankLine})`);
    }
  }
}

/** Reads an ARFF file with its header (names, types, nominal values). */
export async function readArff(path: string, opts: ArffReadOptions = {}): Promise<{ table: Table; header: ArffHeader }> {
  const p = new ArffParser(path, opts);
  for await (const lines of readLineBatches(path, lineOptions(opts))) p.push(lines);
  p.end();
  return { table: p.take(), header: p.header };
}

export async function* readArffChunks(path: string, opts: ArffReadOptions = {}): AsyncGenerator<Table> {
  const p = new ArffParser(path, { ...opts, chunkRows: opts.chunkRows ?? 65536 });
  let yielded = 0;
  for await (const lines of readLineBatches(path, lineOptions(opts))) {
    p.push(lines);
    while (p.ready.length) { yielded++; yield p.ready.shift()!; }
  }
  p.end();
  if (p.pendingRows > 0 || yielded === 0) yield p.take();
}

export function parseArff(text: string, source = '<arff>', opts: ArffReadOptions = {}): { table: Table; header: ArffHeader } {
  const p = new ArffParser(source, opts);
  p.push(splitLines(text));
  p.end();
  return { table: p.take(), header: p.header };
}

/** The text without its trailing commas (a loop: the regex /,+$/ takes quadratic time on a long run of commas). */
function trimCommas(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 44) end--;
  return end === s.length ? s : s.slice(0, end);
}

function lineOptions(opts: ArffReadOptions): LineReadOptions {
  const l = tableLimits(opts.limits);
  return { maxLineBytes: l.maxLineBytes, maxInflatedBytes: l.maxInflatedBytes, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) };
}

/** Takes a possibly quoted token; returns it and the rest. */
function takeToken(s: string): [string, string] {
  const q = s[0];
  if (q === "'" || q === '"') {
    let out = '';
    for (let i = 1; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === '\\' && i + 1 < s.length) { out += s[++i]; continue; }
      if (ch === q) return [out, s.slice(i + 1)];
      out += ch;
    }
    return [out, ''];
  }
  const m = /^(\S+)(.*)$/s.exec(s);
  return m ? [m[1]!, m[2]!] : ['', ''];
}

/** Removes one level of ' or " quoting with backslash escapes. */
function unquote(s: string): string {
  const q = s[0];
  if ((q === "'" || q === '"') && s.length >= 2 && s[s.length - 1] === q) {
    return s.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  }
  return s;
}

/** Splits on commas outside quotes, keeping quotes (unquoted later). */
function splitValues(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (q) {
      cur += ch;
      if (ch === '\\' && i + 1 < s.length) { cur += s[++i]; continue; }
      if (ch === q) q = '';
    } else if (ch === "'" || ch === '"') {
      q = ch;
      cur += ch;
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}
