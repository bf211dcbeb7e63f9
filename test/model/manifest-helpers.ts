import { MODEL_MAGIC } from '../../src/model/index.ts';

const align8 = (n: number): number => (n + 7) & ~7;

/** The manifest of model file bytes, parsed. */
export function manifestOf(bytes: Uint8Array): Record<string, unknown> {
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as Record<string, unknown>;
}

/**
 * The same model file with its manifest replaced by `json` (text, so tests can write what JSON.stringify cannot
 * produce): the blob area and its checksum are kept, so only the manifest is under test.
 */
export function withManifestText(bytes: Uint8Array, json: string): Uint8Array {
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  const area = bytes.subarray(align8(12 + len));
  const j = new TextEncoder().encode(json);
  const out = new Uint8Array(align8(12 + j.length) + area.length);
  out.set(new TextEncoder().encode(MODEL_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, j.length, true);
  out.set(j, 12);
  out.set(area, align8(12 + j.length));
  return out;
}

/** The model file with `edit` applied to its parsed manifest. */
export function withManifest(bytes: Uint8Array, edit: (m: any) => void): Uint8Array {
  const m = manifestOf(bytes);
  edit(m);
  return withManifestText(bytes, JSON.stringify(m));
}
