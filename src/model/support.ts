/**
 * The support guard's record in the manifest: what the training rows looked like, so a model answers 'unknown'
 * (with a reason) instead of extrapolating. See `unknownRule`.
 */
export interface ModelSupport {
  /** Packet-count floor: flows with fewer than `min` packets are `too_few_packets`. */
  packets?: {
    /** How a row's packet count is computed from the model's inputs. */
    from: 'fwd_pkts+bwd_pkts' | 'flowPktsPerSecond*duration';
    min: number;
    /** The training share below which a packet count counts as unsupported (min = that quantile of the training rows). */
    share: number;
  };
  /** Per model input, the range of the training rows' values (null: no finite value); outside: `out_of_distribution`. */
  ranges?: { lo: (number | null)[]; hi: (number | null)[] };
  /** How `unknownBelow` was chosen on held-out rows. */
  confidence?: { target: number; threshold: number; accuracy: number; coverage: number; rows: number; heldOut: string };
}
