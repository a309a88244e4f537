// Worker: one shard message → the analysis over its part of one file → the shard record.
import * as ff from '@google-cloud/functions-framework';
import { googleDeps } from '../../shared/pipeline/google/env';
import { handleShardDelivery } from '../../shared/pipeline/worker';
import { logZstdDecoder, onDelivery } from '../lib/adapt';

// read when the module loads: a bad setting stops the instance at start, naming the variable
const deps = googleDeps();
logZstdDecoder('worker');

const workerId = `${process.env.K_REVISION ?? 'worker'}/${process.pid}`;

ff.cloudEvent('worker', (event: ff.CloudEvent<unknown>) => onDelivery(event, 'worker', (d) => handleShardDelivery(d, { ...deps, workerId })));
