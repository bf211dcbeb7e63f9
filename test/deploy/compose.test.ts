import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

// Docker cannot run on the development machines, so the deployment files are checked here: structure, health
// checks, start order, and every command against the CLI's own argument parser.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const compose = parse(readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8')) as {
  services: Record<string, { image?: string; build?: string; command?: string[]; ports?: string[]; healthcheck?: { test: string[] };
    depends_on?: Record<string, { condition: string }>; volumes?: string[]; environment?: Record<string, string>; deploy?: { replicas?: number } }>;
  volumes: Record<string, unknown>;
};

/** Runs `veil <args> --help`: the parser rejects any option the command does not know. */
function cliAccepts(args: string[]): { ok: boolean; err: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/veil.js'), ...args, '--help'], { encoding: 'utf8' });
  return { ok: r.status === 0, err: r.stderr };
}

test('compose has redis, server and workers, each with a health check', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['redis', 'server', 'worker']);
  for (const [name, s] of Object.entries(compose.services)) {
    assert.ok(s.healthcheck?.test?.length, `${name} has a health check`);
    assert.equal(s.healthcheck!.test[0], 'CMD');
  }
  assert.match(compose.services.server!.healthcheck!.test.join(' '), /\/readyz/);
  assert.ok((compose.services.worker!.deploy?.replicas ?? 1) >= 2, 'more than one worker');
});

test('redis is healthy before the server and workers start', () => {
  assert.equal(compose.services.server!.depends_on?.redis?.condition, 'service_healthy');
  assert.equal(compose.services.worker!.depends_on?.redis?.condition, 'service_healthy');
});

test('the server publishes the port it listens on, and server and workers share the data volume', () => {
  const cmd = compose.services.server!.command!;
  const port = cmd[cmd.indexOf('--port') + 1];
  assert.deepEqual(compose.services.server!.ports, [`${port}:${port}`]);
  assert.equal(cmd[cmd.indexOf('--host') + 1], '0.0.0.0');
  assert.ok(compose.services.server!.environment?.VEIL_API_KEYS, 'API keys are required beyond loopback');
  const dataVol = (s: string) => compose.services[s]!.volumes!.find((v) => v.endsWith(':/data'));
  assert.ok(dataVol('server'));
  assert.equal(dataVol('server'), dataVol('worker'));
  for (const s of ['server', 'worker']) {
    const c = compose.services[s]!.command!;
    assert.equal(c[c.indexOf('--data-dir') + 1], '/data');
    assert.equal(c[c.indexOf('--redis') + 1], 'redis://redis:6379', `${s} uses the redis service`);
  }
});

test('every command in compose.yaml and the Dockerfile is accepted by the CLI', () => {
  for (const [name, s] of Object.entries(compose.services)) {
    if (name === 'redis') continue;
    const r = cliAccepts(s.command!);
    assert.ok(r.ok, `${name}: veil ${s.command!.join(' ')}: ${r.err}`);
  }
  const docker = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(docker)![1]!) as string[];
  const r = cliAccepts(cmd);
  assert.ok(r.ok, `Dockerfile CMD: ${r.err}`);
  assert.equal(cliAccepts(['serve', '--no-such-option']).ok, false, 'the check can fail');
});

test('the Dockerfile is multi-stage on a slim base and runs as a non-root user', () => {
  const docker = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const froms = docker.match(/^FROM .*/gm)!;
  assert.ok(froms.length >= 2, 'multi-stage');
  assert.ok(froms.every((f) => /slim/.test(f)), 'slim bases');
  assert.match(docker, /^USER node$/m);
  assert.match(docker, /npm ci/);
  assert.match(docker, /^HEALTHCHECK .*/m);
  for (const m of docker.matchAll(/^COPY (?!--from)(?:--\S+ )*(\S+) /gm)) {
    const src = m[1]!;
    if (src.includes('*')) continue;
    assert.ok(spawnSync('test', ['-e', path.join(ROOT, src)]).status === 0, `COPY source ${src} exists`);
  }
});
