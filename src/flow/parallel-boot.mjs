// Worker-thread bootstrap: registers tsx inside the worker, then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./parallel-worker.ts');
