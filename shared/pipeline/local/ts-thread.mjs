// Entry of a pool thread when the pool runs from the TypeScript sources (under
// tsx): registers tsx in this thread — Node 20 workers do not reliably inherit
// the parent's --import hooks — then runs the thread body named in
// workerData.threadModule (./worker-thread.ts).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runShardWorkerThread } = await import(workerData.threadModule);
await runShardWorkerThread();
