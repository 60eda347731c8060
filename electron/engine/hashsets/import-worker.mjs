// Worker-thread entry: TypeScript needs the tsx loader, which a worker does not inherit from its parent.
import { register } from 'tsx/esm/api';

register();
await import('./import-worker.ts');
