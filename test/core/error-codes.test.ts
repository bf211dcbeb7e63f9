import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeilErrorCode } from '../../src/core/errors.ts';
import { CaptureErrorCode } from '../../src/wire/types.ts';
import { LiveCaptureErrorCode } from '../../src/wire/live.ts';
import { CatalogErrorCode } from '../../src/names/catalog.ts';
import { DatasetErrorCode } from '../../src/dataset/errors.ts';
import { ModelErrorCode } from '../../src/model/errors.ts';
import { ReportErrorCode } from '../../src/report/errors.ts';
import { ERRORS, LAYER_ERRORS, ServiceErrorCode, serviceCodeFor } from '../../src/service/errors.ts';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const TABLES = { VeilErrorCode, CaptureErrorCode, LiveCaptureErrorCode, CatalogErrorCode, DatasetErrorCode, ModelErrorCode, ReportErrorCode, ServiceErrorCode };

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = path.join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : /\.(ts|mjs)$/.test(e) ? [p] : [];
  });
}

test('every code of every layer is UPPER_SNAKE, keyed by its own name or its layer prefix', () => {
  for (const [table, codes] of Object.entries(TABLES)) {
    for (const [key, code] of Object.entries(codes)) {
      assert.match(key, /^[A-Z][A-Z0-9_]*$/, `${table}.${key}`);
      assert.match(code, /^[A-Z][A-Z0-9_]*$/, `${table}.${key} = ${code}`);
      assert.ok(code === key || code.endsWith(`_${key}`), `${table}.${key} = ${code}`);
    }
  }
});

test('every layer code maps to a registered service code, and the mapping is the one serviceCodeFor applies', () => {
  for (const [table, codes] of Object.entries(TABLES)) {
    if (table === 'ServiceErrorCode') continue;
    for (const code of Object.values(codes)) {
      const to = (LAYER_ERRORS as Record<string, string>)[code];
      assert.ok(to && to in ERRORS, `${table} ${code} -> ${to}`);
      // A code that is also a service code passes through unchanged.
      assert.equal(serviceCodeFor(code), code in ERRORS ? code : to);
    }
  }
  assert.equal(serviceCodeFor('TRUNCATED'), 'BAD_CAPTURE');
  assert.equal(serviceCodeFor('DATASET_MISSING_COLUMN'), 'MISSING_COLUMNS');
  assert.equal(serviceCodeFor('MODEL_CORRUPT'), 'BAD_MODEL');
  assert.equal(serviceCodeFor('SOMETHING_FOREIGN'), 'BAD_REQUEST');
});

test('every code src/ raises as a plain VeilError is in a layer\'s table (so the service table covers it)', () => {
  const known = new Set<string>(Object.entries(TABLES).filter(([t]) => t !== 'ServiceErrorCode').flatMap(([, c]) => Object.values(c)));
  const raised = new Set<string>();
  for (const f of sources(SRC)) {
    for (const m of readFileSync(f, 'utf8').matchAll(/new VeilError\(\s*'([A-Za-z_0-9]+)'/g)) raised.add(m[1]!);
  }
  assert.ok(raised.size >= 5, `found ${[...raised].join(', ')}`);
  for (const c of raised) assert.ok(known.has(c), `new VeilError('${c}', ...) is in no layer's code table (add it to VeilErrorCode in src/core/errors.ts)`);
});
