// Worker bootstrap: registers tsx in this thread, then loads the TypeScript
// module named in workerData.__module (Node 20 workers do not inherit the
// parent's --import hooks reliably).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.__module);
