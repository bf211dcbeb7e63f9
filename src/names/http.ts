/**
 * The Host of a cleartext HTTP/1.x request, found by content (a method token, a space, a request target, ' HTTP/1.'),
 * never by port. Only the first client payload is read, at most {@link MAX_HEAD} bytes of it.
 */
const MAX_HEAD = 4096;

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'PATCH', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'NOTIFY', 'SUBSCRIBE', 'M-SEARCH'];
const METHOD_CODES = METHODS.map((m) => Array.from(m, (c) => c.charCodeAt(0)));

/** Whether `b[off..]` starts with an HTTP method and a space (cheap: a few byte compares, no allocation). */
export function looksLikeHttpRequest(b: Uint8Array, off: number, len: number): boolean {
  const c0 = b[off];
  // Every method starts with an upper-case letter; most payloads fail here.
  if (len < 16 || c0 === undefined || c0 < 65 || c0 > 90) return false;
  for (const m of METHOD_CODES) {
    if (m[0] !== c0 || len <= m.length) continue;
    let ok = true;
    for (let i = 1; i < m.length; i++) if (b[off + i] !== m[i]) { ok = false; break; }
    if (ok && b[off + m.length] === 32) return true;
  }
  return false;
}

/**
 * The request's host in lower case without port: the Host header, else the authority of an absolute or CONNECT
 * request target; '' when the bytes are not an HTTP/1.x request head.
 *
 * @example
 * httpHost(Buffer.from('GET / HTTP/1.1\r\nHost: Example.com:8080\r\n\r\n'), 0, 44); // 'example.com'
 */
export function httpHost(b: Uint8Array, off: number, len: number): string {
  if (!looksLikeHttpRequest(b, off, len)) return '';
  const end = off + Math.min(len, MAX_HEAD);
  let lineEnd = off;
  while (lineEnd < end && b[lineEnd] !== 10) lineEnd++;
  const first = latin1(b, off, lineEnd).replace(/\r$/, '');
  const m = /^(\S+) (\S+) HTTP\/1\.[01]$/.exec(first);
  if (!m) return '';
  let p = lineEnd + 1;
  while (p < end) {
    let e = p;
    while (e < end && b[e] !== 10) e++;
    if (e === p || (e === p + 1 && b[p] === 13)) break;
    // "Host:" in any case: h o s t :
    if (e - p > 5 && (b[p]! | 32) === 104 && (b[p + 1]! | 32) === 111 && (b[p + 2]! | 32) === 115 && (b[p + 3]! | 32) === 116 && b[p + 4] === 58) {
      return cleanHost(latin1(b, p + 5, e));
    }
    p = e + 1;
  }
  const target = m[2]!;
  if (m[1] === 'CONNECT') return cleanHost(target);
  const abs = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]+)/i.exec(target);
  return abs ? cleanHost(abs[1]!.replace(/^.*@/, '')) : '';
}

function latin1(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Lower case, no port, no brackets, no trailing dot; '' unless it looks like a host name or address. */
export function cleanHost(raw: string): string {
  let h = raw.trim().toLowerCase();
  if (h.startsWith('[')) { const i = h.indexOf(']'); return i > 0 ? h.slice(1, i) : ''; }
  const c = h.indexOf(':');
  if (c >= 0) h = h.slice(0, c);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return /^[a-z0-9_][a-z0-9_.-]{0,252}$/.test(h) ? h : '';
}
