/**
 * QUIC Initial packet protection keys (RFC 9001 §5.2, RFC 9369 §3.3): derived from the client's first
 * Destination Connection ID with a version-specific salt, so any observer can remove Initial protection.
 */
import { createCipheriv, createHmac, type Cipher } from 'node:crypto';

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

interface VersionParams {
  /** Initial salts to try, most likely first (one for every published version). */
  salts: Buffer[];
  keyLabel: string;
  ivLabel: string;
  hpLabel: string;
  /** Long-header type bits of Initial / 0-RTT / Handshake / Retry packets. */
  types: { initial: number; zeroRtt: number; handshake: number; retry: number };
}

const V1_TYPES = { initial: 0, zeroRtt: 1, handshake: 2, retry: 3 };
const V1_LABELS = { keyLabel: 'quic key', ivLabel: 'quic iv', hpLabel: 'quic hp' };
const V1_SALT = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
const V2_SALT = Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex');
const DRAFT29_SALT = Buffer.from('afbfec289993d24c9e9786f19c6111e04390a899', 'hex');
const DRAFT23_SALT = Buffer.from('c3eef712c72ebb5a11a7d2432bb46365bef9f502', 'hex');
/** Google QUIC's versions with IETF-style Initial protection, each with its own salt (Chromium quic_crypto_utils). */
const GQUIC_SALTS: ReadonlyMap<number, Buffer> = new Map([
  [0x51303530, Buffer.from('504574efd066fe2f9d945cfcdbd3a7f0d3b56b45', 'hex')], // Q050
  [0x54303530, Buffer.from('7ff579e5acd072915580304c43a2367c60488310', 'hex')], // T050
  [0x54303531, Buffer.from('7a4edef4e7ccee5fa4506c19124fc8ccda6e033d', 'hex')], // T051
]);

/** Versions reserved to exercise version negotiation (RFC 9000 §15): 0x?a?a?a?a. */
export function isReservedVersion(version: number): boolean {
  return (version & 0x0f0f0f0f) === 0x0a0a0a0a;
}

/**
 * Versions whose Initial packets we can open: v1 (RFC 9001), v2 (RFC 9369), and for older captures the late IETF
 * drafts, mvfst's draft-based versions and Google QUIC's Q050 / T050 / T051, which share v1's layout and labels
 * with their own salts. A reserved
 * version's Initial is protected however its client chose: v1 and draft-29 salts are tried.
 */
export function versionParams(version: number): VersionParams | null {
  if (version === QUIC_V1) return { salts: [V1_SALT], ...V1_LABELS, types: V1_TYPES };
  if (version === QUIC_V2) {
    return {
      salts: [V2_SALT], keyLabel: 'quicv2 key', ivLabel: 'quicv2 iv', hpLabel: 'quicv2 hp',
      types: { initial: 1, zeroRtt: 2, handshake: 3, retry: 0 },
    };
  }
  // draft-ietf-quic-transport-23..28 (0xff000017..0xff00001c), 29..32 (..0xff000020), 33-34 (v1 salt).
  if (version >= 0xff000017 && version <= 0xff00001c) return { salts: [DRAFT23_SALT], ...V1_LABELS, types: V1_TYPES };
  if (version >= 0xff00001d && version <= 0xff000020) return { salts: [DRAFT29_SALT], ...V1_LABELS, types: V1_TYPES };
  if (version === 0xff000021 || version === 0xff000022) return { salts: [V1_SALT], ...V1_LABELS, types: V1_TYPES };
  // mvfst (Facebook) draft-27 based versions.
  if (version === 0xfaceb002 || version === 0xfaceb00e) return { salts: [DRAFT23_SALT], ...V1_LABELS, types: V1_TYPES };
  const gquic = GQUIC_SALTS.get(version);
  if (gquic !== undefined) return { salts: [gquic], ...V1_LABELS, types: V1_TYPES };
  if (isReservedVersion(version)) return { salts: [V1_SALT, DRAFT29_SALT], ...V1_LABELS, types: V1_TYPES };
  return null;
}

/** True when `version` is one whose Initial packets {@link versionParams} knows. */
export function isSupportedVersion(version: number): boolean {
  return versionParams(version) !== null;
}

/** HKDF-Extract (RFC 5869) with SHA-256. */
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Buffer {
  return createHmac('sha256', salt).update(ikm).digest();
}

const labelInfo = new Map<string, Buffer>();

/** HkdfLabel (RFC 8446 §7.1) for an empty context, followed by HKDF-Expand's first block counter 0x01. */
function hkdfLabelBlock1(label: string, length: number): Buffer {
  const key = `${label}/${length}`;
  let info = labelInfo.get(key);
  if (info === undefined) {
    const full = Buffer.from('tls13 ' + label, 'latin1');
    info = Buffer.alloc(2 + 1 + full.length + 1 + 1);
    info.writeUInt16BE(length, 0);
    info[2] = full.length;
    full.copy(info, 3);
    info[3 + full.length] = 0; // empty context
    info[4 + full.length] = 1; // T(1) counter
    labelInfo.set(key, info);
  }
  return info;
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context and SHA-256. */
export function hkdfExpandLabel(secret: Uint8Array, label: string, length: number): Buffer {
  const block1 = hkdfLabelBlock1(label, length);
  // Every QUIC Initial output fits one SHA-256 block: T(1) = HMAC(secret, info || 0x01).
  if (length <= 32) return createHmac('sha256', secret).update(block1).digest().subarray(0, length);
  const info = block1.subarray(0, block1.length - 1);
  const out = Buffer.alloc(length);
  let prev: Buffer = Buffer.alloc(0);
  for (let i = 1, done = 0; done < length; i++) {
    prev = createHmac('sha256', secret).update(prev).update(info).update(Buffer.from([i])).digest();
    prev.copy(out, done, 0, Math.min(prev.length, length - done));
    done += prev.length;
  }
  return out;
}

/** AEAD key, IV and header-protection key of one direction (AES-128-GCM, AES-128-ECB for the mask). */
export class PacketKeys {
  readonly secret: Buffer;
  readonly key: Buffer;
  readonly iv: Buffer;
  readonly hp: Buffer;
  private ecb: Cipher | null = null;

  constructor(secret: Buffer, params: VersionParams) {
    this.secret = secret;
    this.key = hkdfExpandLabel(secret, params.keyLabel, 16);
    this.iv = hkdfExpandLabel(secret, params.ivLabel, 12);
    this.hp = hkdfExpandLabel(secret, params.hpLabel, 16);
  }

  /** First 5 bytes of AES-ECB(hp, sample) (RFC 9001 §5.4.3). */
  mask(sample: Uint8Array): Buffer {
    if (this.ecb === null) {
      this.ecb = createCipheriv('aes-128-ecb', this.hp, null);
      this.ecb.setAutoPadding(false);
    }
    // ECB is stateless per block, so one cipher object serves every sample without final().
    return this.ecb.update(sample);
  }
}

export interface InitialKeys {
  version: number;
  saltIndex: number;
  dcid: Uint8Array;
  initialSecret: Buffer;
  client: PacketKeys;
  /** Derived on first use: many flows never show a server Initial. */
  readonly server: PacketKeys;
}

/** Initial keys derived before, by version, salt index and DCID (see {@link initialKeys}). */
const derived = new Map<string, InitialKeys | null>();
/** Bound on {@link derived}: the oldest entry goes first once it is full. */
const DERIVED_MAX = 4096;

/**
 * {@link deriveInitialKeys}, remembered for the last few thousand connection IDs: the keys are a function of the
 * version, salt and DCID only, and the same DCID recurs (a client's retransmitted or coalesced Initials, a server's
 * reply, a capture replayed with other addresses), so one derivation (nine HMACs and a cipher set-up) serves them.
 * The keys are shared read-only; PacketKeys' ECB cipher keeps no state between blocks.
 */
export function initialKeys(version: number, dcid: Uint8Array, saltIndex = 0): InitialKeys | null {
  let key = `${version}/${saltIndex}/`;
  for (let i = 0; i < dcid.length; i++) key += String.fromCharCode(dcid[i]!);
  let k = derived.get(key);
  if (k === undefined) {
    k = deriveInitialKeys(version, dcid, saltIndex);
    if (derived.size >= DERIVED_MAX) derived.delete(derived.keys().next().value!);
    derived.set(key, k);
  }
  return k;
}

/**
 * Client and server Initial keys for `dcid` under `version` (with its `saltIndex`-th candidate salt), or null for
 * versions we cannot open and indexes past the candidates.
 */
export function deriveInitialKeys(version: number, dcid: Uint8Array, saltIndex = 0): InitialKeys | null {
  const params = versionParams(version);
  const salt = params?.salts[saltIndex];
  if (params === null || salt === undefined) return null;
  const initialSecret = hkdfExtract(salt, dcid);
  let server: PacketKeys | null = null;
  return {
    version,
    saltIndex,
    dcid: new Uint8Array(dcid), // a copy: the datagram lives in the reader's reused buffer
    initialSecret,
    client: new PacketKeys(hkdfExpandLabel(initialSecret, 'client in', 32), params),
    get server(): PacketKeys {
      server ??= new PacketKeys(hkdfExpandLabel(initialSecret, 'server in', 32), params);
      return server;
    },
  };
}
