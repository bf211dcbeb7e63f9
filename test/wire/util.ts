import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import {
  decodePacket, newPacketInfo, readCapture,
  type CaptureSource, type CaptureSummary, type PacketInfo, type RawFrame, type ReadCaptureOptions,
} from '../../src/wire/index.ts';

/** test/fixtures/wire */
export const FIXTURES = path.resolve(fileURLToPath(new URL('../fixtures/wire', import.meta.url)));

/** A frame copied out of the reader's buffer. */
export interface Frame {
  tsUs: number;
  capLen: number;
  wireLen: number;
  linkType: number;
  ifIndex: number;
  fileOffset: number;
  bytes: Buffer;
}

export function copyFrame(f: RawFrame): Frame {
  return {
    tsUs: f.tsUs, capLen: f.capLen, wireLen: f.wireLen, linkType: f.linkType, ifIndex: f.ifIndex,
    fileOffset: f.fileOffset, bytes: Buffer.from(f.data.subarray(f.offset, f.offset + f.capLen)),
  };
}

/** Reads a capture, copying every frame, and decodes each one (so decoder exceptions would surface too). */
export async function collect(source: CaptureSource, opts?: ReadCaptureOptions): Promise<{ frames: Frame[]; summary: CaptureSummary }> {
  const frames: Frame[] = [];
  const info = newPacketInfo();
  const summary = await readCapture(source, (f) => {
    frames.push(copyFrame(f));
    decodePacket(f, info);
  }, opts);
  return { frames, summary };
}

/** Serialisable view of a decoded packet; payload bytes instead of the buffer-relative offset. */
export function snapshot(info: PacketInfo): Record<string, unknown> {
  return {
    tsUs: info.tsUs, wireLen: info.wireLen, capLen: info.capLen, ifIndex: info.ifIndex, linkType: info.linkType,
    ipVersion: info.ipVersion, src: [...info.src], dst: [...info.dst], proto: info.proto, sport: info.sport,
    dport: info.dport, ipLen: info.ipLen, l4HeaderLen: info.l4HeaderLen, payloadLen: info.payloadLen,
    payloadCapLen: info.payloadCapLen, tcpFlags: info.tcpFlags, tcpWindow: info.tcpWindow, tcpSeq: info.tcpSeq,
    tcpAck: info.tcpAck, ttl: info.ttl, fragment: info.fragment,
    payload: Buffer.from(info.data.subarray(info.payloadOffset, info.payloadOffset + info.payloadCapLen)).toString('hex'),
  };
}

/** Decodes every frame of a capture into status + snapshot. */
export async function decodeAll(source: CaptureSource): Promise<{ status: number; info: Record<string, unknown> }[]> {
  const out: { status: number; info: Record<string, unknown> }[] = [];
  const info = newPacketInfo();
  await readCapture(source, (f) => {
    const status = decodePacket(f, info);
    out.push({ status, info: snapshot(info) });
  });
  return out;
}

/** A stream that hands out `buf` in chunks whose sizes come from `size()`. */
export function chunkedStream(buf: Buffer, size: () => number): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const n = Math.max(1, Math.min(size(), buf.length - at));
    chunks.push(buf.subarray(at, at + n));
    at += n;
  }
  return Readable.from(chunks);
}

/** The whole buffer as a one-chunk stream. */
export function oneChunk(buf: Buffer): Readable {
  return Readable.from([buf]);
}

/** Seeded PRNG (mulberry32): a float in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-wire-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** True when a command is on PATH. */
export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Message check shared by the damage tests: names the file and a byte offset. */
export const OFFSET_RE = /at byte offset (\d+)/;
