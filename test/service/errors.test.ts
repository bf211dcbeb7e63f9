import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERRORS, ServiceErrorCode, errorsMarkdown, serviceCodeFor, toServiceError } from '../../src/service/errors.ts';
import { CaptureError } from '../../src/wire/types.ts';
import { DatasetError, DatasetErrorCode } from '../../src/dataset/errors.ts';

const SERVICE = fileURLToPath(new URL('../../src/service/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

test('every error code has a status and a description', () => {
  for (const code of Object.values(ServiceErrorCode)) {
    const e = ERRORS[code];
    assert.ok(e, `${code} is in the registry`);
    assert.ok(e.status >= 400 && e.status < 600, `${code} has an error status`);
    assert.ok(e.description.length > 20, `${code} is described`);
  }
});

test('ERRORS.md documents every code with its status (regenerate with errorsMarkdown())', () => {
  const md = readFileSync(path.join(SERVICE, 'ERRORS.md'), 'utf8');
  assert.equal(md, errorsMarkdown(), 'src/service/ERRORS.md is out of date');
  for (const code of Object.values(ServiceErrorCode)) assert.match(md, new RegExp(`\\| \`${code}\` \\| ${ERRORS[code].status} \\|`));
});

test('every code the service raises is registered', () => {
  const used = new Set<string>();
  for (const f of sources(SERVICE)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/new ServiceError\(\s*'([A-Z_]+)'/g)) used.add(m[1]!);
  }
  assert.ok(used.size >= 15, `found ${used.size} codes in use`);
  for (const code of used) assert.ok(code in ERRORS, `${code} is raised but not in the registry`);
});

test('errors of other layers map to the registry', () => {
  assert.equal(toServiceError(new CaptureError('TRUNCATED', 'x.pcap', 100, 'truncated record')).code, 'BAD_CAPTURE');
  assert.equal(toServiceError(new DatasetError(DatasetErrorCode.MISSING_COLUMN, 'lacks a')).code, 'MISSING_COLUMNS');
  assert.equal(toServiceError(new DatasetError(DatasetErrorCode.MALFORMED, 'bad line')).code, 'BAD_TABLE');
  assert.equal(serviceCodeFor('MODEL_NOT_A_MODEL'), 'BAD_MODEL');
  const internal = toServiceError(new Error('secret path /etc/x'));
  assert.equal(internal.code, 'INTERNAL');
  assert.doesNotMatch(internal.message, /secret/, 'internal errors do not leak their message');
});
