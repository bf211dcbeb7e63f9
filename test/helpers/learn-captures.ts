import { writeFileSync } from 'node:fs';
import { PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';
import { clientHelloBody, ext, handshake, record } from '../tls/builder.ts';

/** One TLS connection of a learnable capture: its server name ('' sends none, then `pad` bytes of padding extension
 * take its place, if given) and the server's answer. */
export interface LearnFlow {
  sni: string;
  chunks: number;
  size: number;
  pad?: number;
}

/**
 * A capture of TLS connections: each sends a ClientHello (with the server name, or none: the name hidden as ECH or a
 * tunnel would hide it), then the server answers `chunks` segments of `size` bytes. Streaming answers in many big
 * segments, the call in a few small ones: behaviour a model can learn.
 */
export function learnCapture(flows: readonly LearnFlow[], t0: number): Buffer {
  const w = new PcapWriter();
  let t = t0;
  flows.forEach(({ sni, chunks, size, pad }, k) => {
    const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000 + k, dport: 443 };
    const back = { src: c.dst, dst: c.src, sport: c.dport, dport: c.sport };
    const exts = [...(sni ? [ext.sni(sni)] : pad ? [ext.padding(pad)] : []), ext.alpn(['h2']), ext.supportedVersions([0x0304])];
    const hello = record(22, handshake(1, clientHelloBody({ ciphers: [0x1301, 0x1302], extensions: exts })));
    w.writePacket(buildPacket({ ...c, flags: 'S', seq: 100 }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...back, flags: 'SA', seq: 500, ack: 101 }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...c, flags: 'PA', seq: 101, ack: 501, payload: hello }), { tsUs: (t += 1000) });
    let s = 501;
    for (let i = 0; i < chunks; i++) {
      w.writePacket(buildPacket({ ...back, flags: 'PA', seq: s, payload: new Uint8Array(size) }), { tsUs: (t += size > 1000 ? 200 : 20_000) });
      s += size;
    }
    w.writePacket(buildPacket({ ...c, flags: 'R', seq: 101 + hello.length }), { tsUs: (t += 1000) });
  });
  return Buffer.from(w.toBuffer());
}

export const streamFlow = (sni: string): LearnFlow => ({ sni, chunks: 12, size: 1400 });
export const callFlow = (sni: string): LearnFlow => ({ sni, chunks: 3, size: 120 });

/**
 * Four "home" captures of named Netflix streams and Zoom calls (12 of each, their sizes and lengths varying as real
 * ones do), and one of the same behaviour whose names say nothing: the ClientHello carries only an outer name the
 * catalogue does not know (as ECH's public name does), so the names layer cannot name the flows and only a model of
 * their behaviour can. The outer name is as long as the real ones, so the first packet's size stays in the range
 * the model saw (a ClientHello of another size is outside its training rows, and the support guard rightly answers
 * unknown).
 */
export function homeCaptures(): { home: { name: string; data: Buffer }[]; hidden: { name: string; data: Buffer } } {
  const { stream, call } = seededFlows();
  const home = Array.from({ length: 4 }, (_, i) => ({ name: `home-${i}.pcap`, data: learnCapture(homeFlows(i, stream, call), 1_700_000_000_000_000 + i * 1e9) }));
  const outer = 'ech.example.org';
  const hidden = { name: 'hidden.pcap', data: learnCapture([stream(outer), stream(outer), call(outer), call(outer)], 1_700_100_000_000_000) };
  return { home, hidden };
}

/**
 * Streaming-like and call-like connections whose sizes and lengths vary as real ones do, drawn from one seeded
 * generator (each call starts it afresh, so the same calls give the same flows).
 */
export function seededFlows(): { stream: (sni: string, pad?: number) => LearnFlow; call: (sni: string, pad?: number) => LearnFlow } {
  let seed = 12345;
  const rnd = (lo: number, hi: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return lo + (seed % (hi - lo + 1)); };
  return {
    stream: (sni, pad) => ({ sni, chunks: rnd(9, 16), size: rnd(1150, 1400), ...(pad ? { pad } : {}) }),
    call: (sni, pad) => ({ sni, chunks: rnd(2, 5), size: rnd(80, 220), ...(pad ? { pad } : {}) }),
  };
}

/** The flows of "home" capture `i`: 12 Netflix streams (by cdn.nflxvideo.net or www.netflix.com), then 12 Zoom calls. */
export function homeFlows(i: number, stream: (sni: string) => LearnFlow, call: (sni: string) => LearnFlow): LearnFlow[] {
  return [
    ...Array.from({ length: 12 }, () => stream(i % 2 ? 'www.netflix.com' : 'cdn.nflxvideo.net')),
    ...Array.from({ length: 12 }, () => call('us04web.zoom.us')),
  ];
}

export function writeLearnCapture(file: string, flows: readonly LearnFlow[], t0: number): void {
  writeFileSync(file, learnCapture(flows, t0));
}
