import type * as TF from '@tensorflow/tfjs';
import { registerKernels } from './kernels.ts';

/**
 * tfjs, loaded only when a network is trained (prediction needs no tensor library). The wasm backend is used when
 * it starts, else tfjs's plain JavaScript 'cpu' backend (much slower); callers print which one ran.
 */
export type Tf = typeof TF;
export type NnBackend = 'wasm' | 'cpu';

let tfModule: Promise<Tf> | null = null;
let wasmState: Promise<string | null> | null = null;

async function startWasm(tf: Tf): Promise<string | null> {
  // Emscripten's Node glue installs process-wide uncaughtException/unhandledRejection handlers that rethrow
  // (and print the whole minified module); Veil reports its own errors, so they are removed again.
  const before = { u: process.listeners('uncaughtException'), r: process.listeners('unhandledRejection') };
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    const ok = await tf.setBackend('wasm');
    return ok ? null : 'the wasm backend did not start';
  } catch (e) {
    return `the wasm backend did not start (${(e as Error).message})`;
  } finally {
    for (const l of process.listeners('uncaughtException')) if (!before.u.includes(l)) process.off('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!before.r.includes(l)) process.off('unhandledRejection', l);
  }
}

/**
 * tfjs on the asked backend ('wasm' by default; the VEIL_NN_BACKEND environment variable overrides), with
 * Veil's kernels registered. `note` says why wasm was not used when it was asked for.
 */
export async function loadTf(prefer?: NnBackend): Promise<{ tf: Tf; backend: NnBackend; note?: string }> {
  const want = prefer ?? (process.env.VEIL_NN_BACKEND === 'cpu' ? 'cpu' : 'wasm');
  tfModule ??= import('@tensorflow/tfjs').then((m) => {
    const tf = ((m as unknown as { default?: Tf }).default ?? m) as Tf;
    // PROD skips tfjs's debug checks and its console banners.
    tf.env().set('PROD', true);
    return tf;
  });
  const tf = await tfModule;
  let note: string | undefined;
  if (want === 'wasm') {
    wasmState ??= startWasm(tf);
    note = (await wasmState) ?? undefined;
    if (!note && tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
  }
  if (want === 'cpu' || note) await tf.setBackend('cpu');
  await tf.ready();
  registerKernels(tf);
  return { tf, backend: tf.getBackend() as NnBackend, ...(note ? { note } : {}) };
}
