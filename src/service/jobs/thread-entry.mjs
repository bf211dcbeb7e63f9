// Worker-thread entry for the service's CPU pool. Plain JavaScript so the thread starts under any loader: it imports
// the TypeScript task directly when a TypeScript loader is active in this thread, else through tsx's tsImport.
let mod;
try {
  mod = await import('./thread.ts');
} catch {
  const { tsImport } = await import('tsx/esm/api');
  mod = await tsImport('./thread.ts', import.meta.url);
}

export default function run(task) {
  return mod.default(task);
}
