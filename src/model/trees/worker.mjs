// Worker-thread entry for tree growing. Plain JavaScript so a worker can start under any loader: it imports the
// TypeScript tasks directly when a TypeScript loader is active in this thread, else through tsx's tsImport.
let tasks;
try {
  tasks = await import('./tasks.ts');
} catch {
  const { tsImport } = await import('tsx/esm/api');
  tasks = await tsImport('./tasks.ts', import.meta.url);
}

export default function run(task) {
  return tasks.runTask(task);
}
