// Orchestrator: POST /jobs (HTTP), and job requests published on the jobs
// topic (`gcloud pubsub topics publish physlite-jobs --message '{"dataset": …}'`).
import * as ff from '@google-cloud/functions-framework';
import { googleDeps } from '../../shared/pipeline/google/env';
import { orchestratorHttp } from '../../shared/pipeline/http';
import { handleJobDelivery } from '../../shared/pipeline/orchestrator';
import { logZstdDecoder, onDelivery, sendHttp, toHttpRequest } from '../lib/adapt';

// read when the module loads: a bad setting stops the instance at start, naming the variable
const deps = googleDeps();
logZstdDecoder('orchestrator');

ff.http('orchestrator', async (req, res) => sendHttp(res, await orchestratorHttp(toHttpRequest(req), deps)));

ff.cloudEvent('orchestratorJobs', (event: ff.CloudEvent<unknown>) => onDelivery(event, 'orchestratorJobs', (d) => handleJobDelivery(d, deps)));
