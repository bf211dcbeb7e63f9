/**
 * Names of pcap/pcapng link types (the tcpdump.org LINKTYPE_ registry), so a capture of a link layer Veil does not
 * decode says which one it is (Frame Relay, FDDI, Token Ring, 802.11 with radiotap, ...) instead of a number.
 */
const NAMES: Record<number, string> = {
  0: 'BSD loopback', 1: 'Ethernet', 3: 'AX.25', 6: 'Token Ring', 7: 'ARCNET (BSD)', 8: 'SLIP', 9: 'PPP', 10: 'FDDI',
  12: 'raw IP', 14: 'raw IP', 50: 'PPP in HDLC framing', 51: 'PPPoE', 100: 'ATM (RFC 1483 LLC/SNAP)', 101: 'raw IP',
  104: 'Cisco HDLC', 105: 'IEEE 802.11', 106: 'ATM (Classical IP)', 107: 'Frame Relay', 108: 'OpenBSD loopback',
  113: 'Linux cooked (SLL)', 114: 'LocalTalk', 117: 'OpenBSD pflog', 119: 'IEEE 802.11 with Prism header',
  122: 'IP over Fibre Channel', 123: 'SunATM', 127: 'IEEE 802.11 with radiotap header', 129: 'ARCNET (Linux)',
  138: 'IP over IEEE 1394', 139: 'SS7 MTP2 with pseudo-header', 140: 'SS7 MTP2', 141: 'SS7 MTP3', 142: 'SS7 SCCP',
  143: 'DOCSIS', 144: 'Linux IrDA', 163: 'IEEE 802.11 with AVS header', 165: 'BACnet MS/TP', 166: 'PPP (pppd)',
  169: 'GPRS LLC', 177: 'Linux LAPD', 187: 'Bluetooth HCI H4', 189: 'Linux USB', 192: 'PPI (802.11)',
  195: 'IEEE 802.15.4 with FCS', 197: 'Endace ERF', 201: 'Bluetooth HCI H4 with pseudo-header', 202: 'AX.25 KISS',
  203: 'LAPD', 204: 'PPP with direction', 205: 'Cisco HDLC with direction', 206: 'Frame Relay with direction',
  220: 'Linux USB (memory-mapped)', 224: 'Fibre Channel FC-2', 226: 'Solaris ipnet', 227: 'SocketCAN',
  228: 'raw IPv4', 229: 'raw IPv6', 230: 'IEEE 802.15.4 without FCS', 231: 'D-Bus', 239: 'Linux netfilter NFLOG',
  240: 'Hilscher netANALYZER', 242: 'IP over InfiniBand', 243: 'MPEG-2 TS', 247: 'InfiniBand', 248: 'SCTP',
  249: 'USBPcap', 251: 'Bluetooth LE link layer', 253: 'Linux netlink', 254: 'Bluetooth Linux monitor',
  256: 'Bluetooth LE link layer with pseudo-header', 258: 'Apple PKTAP', 259: 'EPON', 264: 'ISO 14443 (NFC)',
  266: 'Darwin USB', 270: 'LoRaTap', 271: 'Linux vsock', 272: 'Nordic BLE sniffer', 274: 'Ethernet mPackets (802.3br)',
  276: 'Linux cooked v2 (SLL2)', 281: 'Broadcom DSA tag', 283: 'IEEE 802.15.4 TAP', 284: 'Marvell DSA tag',
  285: 'Marvell EDSA tag', 288: 'USB 2.0', 290: 'Windows ETW', 297: 'Z-Wave TAP',
};

/** The link type's name ('Frame Relay'), or 'link type N' for one the registry table here lacks. */
export function linkTypeName(lt: number): string {
  if (lt >= 147 && lt <= 162) return `user-defined (DLT_USER${lt - 147})`;
  return NAMES[lt] ?? `link type ${lt}`;
}

/** The name as a counter key: 'frame_relay', 'ieee_802_11_with_radiotap_header', '147'. */
export function linkTypeKey(lt: number): string {
  const n = NAMES[lt];
  return n ? n.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') : String(lt);
}
