// Reducer: shard-done messages → the merge, once, when every shard has
// reported; and the dead-letter topic's handler (`deadLetters`).
import * as ff from '@google-cloud/functions-framework';
import { googleDeps } from '../../shared/pipeline/google/env';
import { handleDeadLetter, handleShardDoneDelivery } from '../../shared/pipeline/reducer';
import { onDelivery } from '../lib/adapt';

// read when the module loads: a bad setting stops the instance at start, naming the variable
const deps = googleDeps();

const workerId = `${process.env.K_REVISION ?? 'reducer'}/${process.pid}`;

ff.cloudEvent('reducer', (event: ff.CloudEvent<unknown>) => onDelivery(event, 'reducer', (d) => handleShardDoneDelivery(d, { ...deps, workerId })));

ff.cloudEvent('deadLetters', (event: ff.CloudEvent<unknown>) => onDelivery(event, 'deadLetters', (d) => handleDeadLetter(d, { ...deps, workerId })));
