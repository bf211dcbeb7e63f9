/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal and at most five times a second.
 */
export class Progress {
  private last = 0;
  private readonly start = Date.now();
  readonly enabled: boolean;
  constructor(private readonly label: string, enabled = Boolean(process.stderr.isTTY)) {
    this.enabled = enabled;
  }

  /** done/total in bytes (total may be null for a pipe); extra is appended as is. */
  update(done: number, total: number | null, extra: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    const width = 24;
    let bar = '';
    if (total && total > 0) {
      const f = Math.min(1, done / total);
      const n = Math.round(f * width);
      bar = `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${(f * 100).toFixed(0).padStart(3)}% `;
    }
    const line = `${this.label} ${bar}${formatBytes(done)}${total ? ` of ${formatBytes(total)}` : ''}  ${extra}`;
    process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 120) - 1)}`);
  }

  elapsedSeconds(): number {
    return (Date.now() - this.start) / 1000;
  }

  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

export function formatRate(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
}
