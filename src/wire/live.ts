import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { VeilError } from '../core/errors.ts';

/**
 * Live capture through tcpdump (falling back to Wireshark's dumpcap): the tool writes pcap to its stdout, which
 * `readCapture({ stream, name })` consumes unchanged.
 */

export interface LiveCaptureOptions {
  iface: string;
  /** BPF capture filter, e.g. 'tcp port 443 or udp port 443'. */
  filter?: string;
  snaplen?: number;
  /** Executables to run (default: found on PATH). */
  tcpdumpPath?: string;
  dumpcapPath?: string;
  /** Called once the tool reports that the capture is open. */
  onReady?: () => void;
  /** Kernel capture buffer in KiB (tcpdump -B, dumpcap -B in MiB); the tools' default is 2 MiB. */
  bufferKiB?: number;
}

/** The capture tool's own counters (tcpdump prints them on SIGUSR1 and at exit; dumpcap at exit). */
export interface CaptureStats {
  /** Packets the tool wrote. */
  captured: number;
  /** Packets the kernel's filter accepted. */
  received: number;
  /** Packets the kernel dropped because the tool's buffer was full. */
  droppedByKernel: number;
  /** Packets the interface (driver) dropped, when the tool reports them. */
  droppedByInterface: number;
}

/** Parses the last counters block in a capture tool's stderr (tcpdump's "N packets dropped by kernel" lines). */
export function parseCaptureStats(stderr: string): CaptureStats | null {
  const re = /(\d+) packets? captured[,\s]+(\d+) packets? received by filter[,\s]+(\d+) packets? dropped by kernel(?:[,\s]+(\d+) packets? dropped by interface)?/g;
  let m: RegExpExecArray | null, last: RegExpExecArray | null = null;
  while ((m = re.exec(stderr)) !== null) last = m;
  if (!last) {
    // dumpcap, at exit: "Packets received/dropped on interface 'lo': 138/0 (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0)".
    const d = /Packets received\/dropped on interface [^:]*(?::[^:]*)*?: (\d+)\/(\d+) \(pcap:(\d+)\/dumpcap:(\d+)\/flushed:(\d+)\/ps_ifdrop:(\d+)\)/.exec(stderr);
    if (!d) return null;
    return { captured: Number(d[1]), received: Number(d[1]) + Number(d[2]), droppedByKernel: Number(d[3]) + Number(d[4]) + Number(d[5]), droppedByInterface: Number(d[6]) };
  }
  return { captured: Number(last[1]), received: Number(last[2]), droppedByKernel: Number(last[3]), droppedByInterface: Number(last[4] ?? 0) };
}

export interface LiveCapture {
  /** pcap bytes as the capture tool writes them; errors with a {@link LiveCaptureError} if the tool fails. */
  stream: NodeJS.ReadableStream;
  /** The interface name, for messages. */
  name: string;
  /** Stops the capture tool; the stream then ends normally. Resolves once the tool has exited. */
  stop(): Promise<void>;
  /** Asks tcpdump for its counters now (SIGUSR1) and resolves with them; null when the tool cannot tell (dumpcap,
   * or no answer within a second). */
  stats(): Promise<CaptureStats | null>;
  /** The counters the tool printed last (at exit, the final ones). */
  lastStats(): CaptureStats | null;
}

export const LiveCaptureErrorCode = { LIVE_CAPTURE: 'LIVE_CAPTURE' } as const;
export type LiveCaptureErrorCode = (typeof LiveCaptureErrorCode)[keyof typeof LiveCaptureErrorCode];

/** The capture tool is missing, lacks permission, or rejected the interface or filter. */
export class LiveCaptureError extends VeilError {
  constructor(message: string) {
    super('LIVE_CAPTURE', message);
    this.name = 'LiveCaptureError';
  }
}

function explain(tool: string, opts: LiveCaptureOptions, code: number | null, signal: string | null, stderr: string): string {
  const said = stderr.trim() ? `\n${tool} said: ${stderr.trim()}` : '';
  if (/permission|not permitted|EPERM/i.test(stderr)) {
    return `permission denied capturing on '${opts.iface}': run as root or grant ${tool} the capture capabilities ` +
      `(setcap cap_net_raw,cap_net_admin=eip "$(command -v ${tool})")${said}`;
  }
  if (/no such device|doesn't exist|does not exist|no such interface|there is no device|not found/i.test(stderr)) {
    return `no such interface '${opts.iface}' (list interfaces with '${tool} -D')${said}`;
  }
  if (/syntax error|parse filter|invalid capture filter|illegal/i.test(stderr)) {
    return `bad capture filter '${opts.filter ?? ''}'${said}`;
  }
  const how = code !== null ? `exited with code ${code}` : `was killed by ${signal ?? 'a signal'}`;
  return `${tool} ${how} while capturing on '${opts.iface}'${said}`;
}

/**
 * Refuses an interface name or a filter that a capture tool could read as an option or a path: an interface is a
 * name (letters, digits, `_ . : @ -`, not starting with `-`), a filter is a BPF expression (never starting with `-`).
 */
export function checkLiveArgs(iface: string, filter?: string | null): void {
  if (!/^[A-Za-z0-9_.:@][A-Za-z0-9_.:@-]{0,63}$/.test(iface)) {
    throw new VeilError('BAD_ARGUMENT', `interface '${iface.slice(0, 80)}': not an interface name (letters, digits, _ . : @ -)`);
  }
  if (filter && /^\s*-/.test(filter)) throw new VeilError('BAD_ARGUMENT', `capture filter '${filter.slice(0, 80)}': a BPF expression never starts with '-'`);
  if (filter && /[\0\n\r]/.test(filter)) throw new VeilError('BAD_ARGUMENT', 'capture filter: control characters are not allowed');
}

/**
 * Starts `tcpdump -i IFACE -U -w - [-s SNAPLEN] [FILTER]` (or `dumpcap -i IFACE -w - -P -q ...` when tcpdump is not
 * installed). Failures (tool missing, permission denied, no such interface, bad filter) surface as a
 * {@link LiveCaptureError} on the stream, which `readCapture` rethrows, carrying the tool's own stderr.
 *
 * @example
 * ```ts
 * const cap = openLiveCapture({ iface: 'eth0', filter: 'tcp port 443' });
 * process.once('SIGINT', () => void cap.stop());
 * const summary = await readCapture({ stream: cap.stream, name: cap.name }, (f) => meter.frame(f));
 * ```
 */
export function openLiveCapture(opts: LiveCaptureOptions): LiveCapture {
  checkLiveArgs(opts.iface, opts.filter);
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let child: ChildProcess | null = null;
  let stopping = false;
  let exited: Promise<void> = Promise.resolve();

  const tcpdumpArgs = ['-i', opts.iface, '-U', '-w', '-'];
  if (opts.snaplen) tcpdumpArgs.push('-s', String(opts.snaplen));
  if (opts.bufferKiB) tcpdumpArgs.push('-B', String(Math.max(1, Math.round(opts.bufferKiB))));
  // After '--': a filter starting with '-' must never be read as an option (-w FILE, -r FILE, -F FILE, -V ...).
  if (opts.filter) tcpdumpArgs.push('--', opts.filter);
  const dumpcapArgs = ['-i', opts.iface, '-w', '-', '-P', '-q'];
  if (opts.snaplen) dumpcapArgs.push('-s', String(opts.snaplen));
  if (opts.bufferKiB) dumpcapArgs.push('-B', String(Math.max(1, Math.round(opts.bufferKiB / 1024))));
  if (opts.filter) dumpcapArgs.push('-f', opts.filter);
  let tool = 'tcpdump';
  let counters: CaptureStats | null = null;
  let statsWaiters: ((s: CaptureStats | null) => void)[] = [];
  let statsText = '';

  const start = (name: string, cmd: string, args: string[], fallback: (() => void) | null): void => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    tool = name;
    let stderr = '';
    c.stderr!.setEncoding('utf8');
    let ready = false;
    c.stderr!.on('data', (s: string) => {
      stderr = (stderr + s).slice(-8192);
      statsText = (statsText + s).slice(-2048);
      const st = parseCaptureStats(statsText);
      if (st && (name === 'dumpcap' || /dropped by (kernel|interface)[^\n]*\n\s*$/.test(statsText))) {
        counters = st;
        statsText = '';
        const w = statsWaiters;
        statsWaiters = [];
        for (const f of w) f(st);
      }
      // tcpdump says "listening on IFACE", dumpcap "Capturing on 'IFACE'", once the capture is open.
      if (!ready && /listening on|capturing on/i.test(stderr)) {
        statsText = '';
        ready = true;
        opts.onReady?.();
      }
    });
    c.stdout!.pipe(out, { end: false });
    let spawnFailed = false;
    exited = new Promise<void>((resolve) => {
      c.once('error', (err: NodeJS.ErrnoException) => {
        spawnFailed = true;
        if (stopping) out.end();
        else if (err.code === 'ENOENT' && fallback) fallback();
        else if (err.code === 'ENOENT') {
          out.destroy(new LiveCaptureError('cannot capture live: neither tcpdump nor dumpcap is installed (apt-get install tcpdump)'));
        } else out.destroy(new LiveCaptureError(`cannot start ${tool}: ${err.message}`));
        resolve();
      });
      c.once('close', (code, signal) => {
        if (!spawnFailed) {
          if (stopping || code === 0) out.end();
          else out.destroy(new LiveCaptureError(explain(name, opts, code, signal, stderr)));
        }
        resolve();
      });
    });
  };

  start('tcpdump', opts.tcpdumpPath ?? 'tcpdump', tcpdumpArgs, () =>
    start('dumpcap', opts.dumpcapPath ?? 'dumpcap', dumpcapArgs, null));

  // A consumer that stops reading (damage, abort) must not leave the tool blocked on a full pipe.
  out.once('close', () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      stopping = true;
      child.kill('SIGTERM');
    }
  });

  return {
    stream: out,
    name: opts.iface,
    async stop(): Promise<void> {
      stopping = true;
      const c = child as ChildProcess | null;
      if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      await exited;
      // tcpdump prints its final counters as it exits: let stderr drain.
      await new Promise((r) => setTimeout(r, 20));
    },
    stats(): Promise<CaptureStats | null> {
      const c = child as ChildProcess | null;
      if (tool !== 'tcpdump' || !c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve(counters);
      return new Promise((resolve) => {
        const t = setTimeout(() => { statsWaiters = statsWaiters.filter((f) => f !== done); resolve(null); }, 1000);
        const done = (s: CaptureStats | null): void => { clearTimeout(t); resolve(s); };
        statsWaiters.push(done);
        c.kill('SIGUSR1');
      });
    },
    lastStats: () => counters,
  };
}
