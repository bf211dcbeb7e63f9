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
}

export interface LiveCapture {
  /** pcap bytes as the capture tool writes them; errors with a {@link LiveCaptureError} if the tool fails. */
  stream: NodeJS.ReadableStream;
  /** The interface name, for messages. */
  name: string;
  /** Stops the capture tool; the stream then ends normally. Resolves once the tool has exited. */
  stop(): Promise<void>;
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
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let child: ChildProcess | null = null;
  let stopping = false;
  let exited: Promise<void> = Promise.resolve();

  const tcpdumpArgs = ['-i', opts.iface, '-U', '-w', '-'];
  if (opts.snaplen) tcpdumpArgs.push('-s', String(opts.snaplen));
  if (opts.filter) tcpdumpArgs.push(opts.filter);
  const dumpcapArgs = ['-i', opts.iface, '-w', '-', '-P', '-q'];
  if (opts.snaplen) dumpcapArgs.push('-s', String(opts.snaplen));
  if (opts.filter) dumpcapArgs.push('-f', opts.filter);

  const start = (tool: string, cmd: string, args: string[], fallback: (() => void) | null): void => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr!.setEncoding('utf8');
    let ready = false;
    c.stderr!.on('data', (s: string) => {
      stderr = (stderr + s).slice(-8192);
      // tcpdump says "listening on IFACE", dumpcap "Capturing on 'IFACE'", once the capture is open.
      if (!ready && /listening on|capturing on/i.test(stderr)) {
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
          else out.destroy(new LiveCaptureError(explain(tool, opts, code, signal, stderr)));
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
    },
  };
}
