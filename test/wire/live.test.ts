import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LiveCaptureError, openLiveCapture, readCapture } from '../../src/wire/index.ts';
import { FIXTURES, have, tempDir } from './util.ts';

/** Writes an executable shell script standing in for tcpdump / dumpcap. */
function fakeTool(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

test('the reader consumes the capture tool stdout unchanged; arguments follow tcpdump -i IFACE -U -w - -- FILTER', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const args = path.join(dir, 'args');
    const tool = fakeTool(dir, 'tcpdump', `printf '%s\\n' "$@" > ${args}\ncat ${path.join(FIXTURES, 'nats.pcap')}`);
    const cap = openLiveCapture({ iface: 'eth9', filter: 'tcp port 4222', snaplen: 128, tcpdumpPath: tool });
    let frames = 0;
    const s = await readCapture({ stream: cap.stream, name: cap.name }, () => { frames++; });
    assert.equal(s.error, null);
    assert.equal(frames, 27);
    assert.deepEqual(readFileSync(args, 'utf8').trim().split('\n'), ['-i', 'eth9', '-U', '-w', '-', '-s', '128', '--', 'tcp port 4222']);
    await cap.stop();
  } finally {
    cleanup();
  }
});

test('a filter or interface the tool would read as an option is refused before it runs', () => {
  for (const o of [{ iface: 'eth0', filter: '-w /tmp/x' }, { iface: 'eth0', filter: '  -r/etc/shadow' }, { iface: '-weth0' }, { iface: 'eth0 -w' }]) {
    assert.throws(() => openLiveCapture({ ...o, tcpdumpPath: '/nonexistent/tcpdump' }), /not an interface name|never starts with '-'/, JSON.stringify(o));
  }
});

test('dumpcap is used when tcpdump is missing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const args = path.join(dir, 'args');
    const dumpcap = fakeTool(dir, 'dumpcap', `printf '%s\\n' "$@" > ${args}\ncat ${path.join(FIXTURES, 'nats.pcap')}`);
    const cap = openLiveCapture({ iface: 'eth9', filter: 'udp', tcpdumpPath: path.join(dir, 'no-tcpdump'), dumpcapPath: dumpcap });
    const s = await readCapture({ stream: cap.stream, name: cap.name }, () => {});
    assert.equal(s.frames, 27);
    assert.deepEqual(readFileSync(args, 'utf8').trim().split('\n'), ['-i', 'eth9', '-w', '-', '-P', '-q', '-f', 'udp']);
  } finally {
    cleanup();
  }
});

test('neither tool installed: a clear LiveCaptureError', async () => {
  const cap = openLiveCapture({ iface: 'eth0', tcpdumpPath: '/nonexistent/tcpdump', dumpcapPath: '/nonexistent/dumpcap' });
  await assert.rejects(readCapture({ stream: cap.stream, name: cap.name }, () => {}), (e: unknown) =>
    e instanceof LiveCaptureError && /neither tcpdump nor dumpcap is installed/.test(e.message));
});

test('tool failures are explained and carry its stderr: no such interface, permission denied, bad filter', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cases: [string, string, RegExp][] = [
      ['tcpdump: nope0: No such device exists\n(No such device exists)', 'nope0', /no such interface 'nope0'.*\ntcpdump said: tcpdump: nope0: No such device exists/s],
      ["tcpdump: eth0: You don't have permission to capture on that device", 'eth0', /permission denied capturing on 'eth0': run as root or grant tcpdump/],
      ['tcpdump: syntax error in filter expression', 'eth0', /bad capture filter 'port x'/],
      ['tcpdump: something odd', 'eth0', /tcpdump exited with code 3 .*\ntcpdump said: tcpdump: something odd/s],
    ];
    for (const [stderr, iface, re] of cases) {
      const code = stderr.includes('odd') ? 3 : 1;
      const tool = fakeTool(dir, `t${code}${iface}${stderr.length}`, `echo ${JSON.stringify(stderr)} >&2\nexit ${code}`);
      const cap = openLiveCapture({ iface, filter: 'port x', tcpdumpPath: tool });
      await assert.rejects(readCapture({ stream: cap.stream, name: cap.name }, () => {}), (e: unknown) =>
        e instanceof LiveCaptureError && re.test(e.message), stderr);
    }
  } finally {
    cleanup();
  }
});

test('stop() ends a running capture; the stream ends normally with the frames so far', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const tool = fakeTool(dir, 'tcpdump', `cat ${path.join(FIXTURES, 'nats.pcap')}\nexec sleep 30`);
    const cap = openLiveCapture({ iface: 'lo', tcpdumpPath: tool });
    let frames = 0;
    const s = await readCapture({ stream: cap.stream, name: cap.name }, () => {
      if (++frames === 27) void cap.stop();
    });
    assert.equal(s.error, null);
    assert.equal(s.frames, 27);
    await cap.stop();
  } finally {
    cleanup();
  }
});

test('real tcpdump on a missing interface fails with the explanation', { skip: have('tcpdump') ? false : 'tcpdump not installed' }, async () => {
  const cap = openLiveCapture({ iface: 'veil-no-such0' });
  await assert.rejects(readCapture({ stream: cap.stream, name: cap.name }, () => {}), (e: unknown) =>
    e instanceof LiveCaptureError && /veil-no-such0/.test(e.message));
});
