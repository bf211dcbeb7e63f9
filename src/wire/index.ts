/**
 * The wire layer's public face: capture readers (pcap, pcapng, live), the packet decoder, and writers/builders
 * for fixtures. Depends on nothing else in the project.
 */
export {
  CaptureError, DecodeStatus, LinkType, newPacketInfo, type PacketInfo, type RawFrame,
} from './types.ts';
export { VeilError } from './errors.ts';
export {
  readCapture, captureTotalBytes, MAX_SANE_CAPLEN, MAX_BLOCK_LEN,
  type CaptureSummary, type CaptureSource, type CaptureFormat, type ReadCaptureOptions,
} from './reader.ts';
export { decodePacket, decodeStatusName, formatIp, parseIp, GTPU_PORT } from './decode.ts';
export { linkTypeName, linkTypeKey } from './linktypes.ts';
export {
  PcapWriter, PcapngWriter, buildPacket, linkTypeOf, tcpFlags, tsToTicks, DEFAULT_START_US,
  type PcapWriterOptions, type PcapngWriterOptions, type PcapngInterfaceOptions, type PcapngRecordOptions,
  type RecordOptions, type PacketSpec, type TunnelSpec, type LinkName, type ByteOrder,
} from './writer.ts';
export { openLiveCapture, LiveCaptureError, type LiveCapture, type LiveCaptureOptions } from './live.ts';
