// Status: GET /jobs and GET /jobs/{id}, as JSON or as a page. Reads job state only.
import * as ff from '@google-cloud/functions-framework';
import { googleDeps } from '../../shared/pipeline/google/env';
import { statusHttp } from '../../shared/pipeline/http';
import { sendHttp, toHttpRequest } from '../lib/adapt';

// read when the module loads: a bad setting stops the instance at start, naming the variable
const deps = googleDeps();

ff.http('status', async (req, res) => sendHttp(res, await statusHttp(toHttpRequest(req), deps)));
