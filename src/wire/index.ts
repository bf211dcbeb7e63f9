/**
 * The wire layer's public face: capture readers (pcap, pcapng, live) and the packet decoder. Depends on nothing
 * else in the project. Fixture tools are imported by path, not from here: the pcap/pcapng writers (./writer.ts)
 * and the frame builders with their checksums (./testing.ts).
 */
export {
  CaptureError, DecodeStatus, LinkType, newPacketInfo, type PacketInfo, type RawFrame,
} from './types.ts';
export { VeilError } from '../core/errors.ts';
export {
  readCapture, captureTotalBytes, MAX_SANE_CAPLEN, MAX_BLOCK_LEN,
  type CaptureSummary, type CaptureSource, type CaptureFormat, type ReadCaptureOptions,
} from './reader.ts';
export { decodePacket, decodeStatusName, formatIp, parseIp, GTPU_PORT } from './decode.ts';
export { linkTypeName, linkTypeKey } from './linktypes.ts';
export { openLiveCapture, LiveCaptureError, type LiveCapture, type LiveCaptureOptions } from './live.ts';
