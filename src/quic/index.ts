/**
 * QUIC Initial packets: key derivation (RFC 9001 v1, RFC 9369 v2), header protection, AES-128-GCM opening,
 * frame walking and CRYPTO stream reassembly. The TLS handshake inside is parsed by src/tls.
 */
export { QUIC_V1, QUIC_V2, deriveInitialKeys, hkdfExpandLabel, hkdfExtract, isSupportedVersion, versionParams, PacketKeys } from './keys.ts';
export type { InitialKeys } from './keys.ts';
export { parseLongHeader, openPacket, decodePacketNumber } from './packet.ts';
export type { LongHeader, LongType, OpenedPacket } from './packet.ts';
export { parseInitialFrames, newFrameCounts } from './frames.ts';
export type { FrameCounts, FrameSink } from './frames.ts';
export { CryptoReassembler } from './crypto-stream.ts';
export { QuicInitialReader } from './initial.ts';
export type { QuicCounters } from './initial.ts';
export { QuicReader, QuicParseError, encodeVarint } from './reader.ts';
export {
  ChloAssembler, gquicClientStreamData, gquicClientVersion, gquicNumber, gquicVersionName, isChlo, isGquicCryptoVersion,
  isGquicVersion, parseChlo, parseGquicInitialFrames,
} from './gquic.ts';
export type { ChloFacts, GquicStreamData } from './gquic.ts';
