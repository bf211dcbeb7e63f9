// Live worker bootstrap: registers tsx inside the worker thread, then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
