// Bundle entry of the `physlite` command (built to dist/physlite.js). The
// local worker pool starts this same bundle as its threads, marked by workerData.
import { workerData } from 'node:worker_threads';
import { run } from './physlite';
import { runShardWorkerThread } from '../pipeline/local/worker-thread';

if ((workerData as { physliteRole?: string } | null)?.physliteRole === 'shard-worker') await runShardWorkerThread();
else await run(process.argv.slice(2));
