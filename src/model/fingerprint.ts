/**
 * A fingerprint of a model's training rows, so `veil evaluate` recognises its own training data by content, not
 * by path: the same file read through another path, a copy, or a table that merely contains the training rows.
 *
 * Each row hashes its model inputs (the encoded features, in the model's order) and its label to a 52-bit number;
 * the manifest keeps the K smallest hashes (a bottom-K sketch). On other data, the share of sketch hashes found
 * among its row hashes estimates the share of training rows it holds, and the share of its rows below the sketch's
 * largest hash that are in the sketch estimates how much of it is training rows. Neither needs the training data.
 */

/** Hashes kept in a manifest. */
export const SKETCH_SIZE = 256;

export interface RowSketch {
  /** Rows hashed. */
  rows: number;
  /** The smallest distinct row hashes, ascending (integers below 2^52). */
  hashes: number[];
}

const M32 = 0x01000193;

/** 52-bit hash per row of the model inputs and the label code (NaN inputs hash alike). */
export function rowHashes(columns: readonly Float64Array[], labels: readonly (string | null)[]): Float64Array {
  const n = labels.length;
  const out = new Float64Array(n);
  const buf = new Float64Array(1);
  const bytes = new Uint8Array(buf.buffer);
  for (let i = 0; i < n; i++) {
    // Two FNV-1a lanes with different offsets: 26 bits from one, 26 from the other.
    let h1 = 0x811c9dc5 | 0, h2 = 0x050c5d1f | 0;
    for (let c = 0; c < columns.length; c++) {
      const v = columns[c]![i]!;
      buf[0] = v === v ? v : NaN;
      for (let b = 0; b < 8; b++) { h1 = Math.imul(h1 ^ bytes[b]!, M32); h2 = Math.imul(h2 ^ bytes[7 - b]!, M32); }
    }
    const l = labels[i] ?? '';
    for (let k = 0; k < l.length; k++) { const ch = l.charCodeAt(k); h1 = Math.imul(h1 ^ ch, M32); h2 = Math.imul(h2 ^ (ch + 7), M32); }
    h1 ^= h1 >>> 15; h1 = Math.imul(h1, 0x2c1b3c6d); h1 ^= h1 >>> 12;
    h2 ^= h2 >>> 15; h2 = Math.imul(h2, 0x297a2d39); h2 ^= h2 >>> 12;
    out[i] = (h1 >>> 6) * 67108864 + (h2 >>> 6);
  }
  return out;
}

/** The bottom-K sketch of a table's row hashes. */
export function rowSketch(hashes: Float64Array, k = SKETCH_SIZE): RowSketch {
  const sorted = Float64Array.from(new Set(hashes)).sort();
  return { rows: hashes.length, hashes: Array.from(sorted.subarray(0, k)) };
}

export interface Overlap {
  /** Estimated share of the training rows present in the data (0..1). */
  ofTraining: number;
  /** Estimated share of the data's rows that are training rows (0..1). */
  ofData: number;
}

/** How much data (its row hashes) overlaps the training rows a sketch describes. */
export function overlap(sketch: RowSketch, hashes: Float64Array): Overlap {
  if (!sketch.hashes.length || !hashes.length) return { ofTraining: 0, ofData: 0 };
  const inSketch = new Set(sketch.hashes);
  const max = sketch.hashes[sketch.hashes.length - 1]!;
  const data = new Set(hashes);
  let found = 0;
  for (const h of sketch.hashes) if (data.has(h)) found++;
  // The data's distinct hashes up to the sketch's largest are a sample of its rows on the same scale.
  let below = 0, both = 0;
  for (const h of data) if (h <= max) { below++; if (inSketch.has(h)) both++; }
  return { ofTraining: found / sketch.hashes.length, ofData: below ? both / below : 0 };
}
