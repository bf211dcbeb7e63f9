import { fileURLToPath } from 'node:url';

/**
 * The flow worker's code as one self-contained ES module (a data: URL), bundled by esbuild from
 * parallel-worker.ts on first use in a process. A worker started from it needs no TypeScript loader: booting a
 * worker through tsx costs it ~0.4 s of module loading (one synchronous round trip to the loader thread per source
 * file), during which the main thread, its ring full, waits. The bundle takes ~0.1 s and is built while the
 * capture is being opened. null when bundling is not possible here (the caller then boots through tsx).
 */
let bundle: Promise<URL | null> | null = null;

export function flowWorkerScript(): Promise<URL | null> {
  // Built into dist/ (plain JavaScript): the worker module loads as it is.
  if (import.meta.url.endsWith('.js')) return Promise.resolve(new URL('./parallel-worker.js', import.meta.url));
  bundle ??= (async () => {
    try {
      const esbuild = await import('esbuild');
      const out = await esbuild.build({
        entryPoints: [fileURLToPath(new URL('./parallel-worker.ts', import.meta.url))],
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        write: false,
        // The worker formats CSV/JSONL only; Parquet rows go back to the main thread. A package the worker
        // would import could not be resolved from a data: URL: leave packages out, and fail over to tsx below.
        packages: 'external',
        logLevel: 'silent',
        metafile: true,
      });
      // Every import left in the bundle (static, dynamic, re-export or require) must be a Node built-in.
      for (const o of Object.values(out.metafile.outputs)) {
        if (o.imports.some((i) => i.external && !i.path.startsWith('node:'))) return null;
      }
      const code = out.outputFiles[0]!.text;
      return new URL(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
    } catch {
      return null;
    }
  })();
  return bundle;
}
