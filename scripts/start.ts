// `npm start`: the main job on the sample data, as far as the project goes
// today: the reference analysis over both PHYSLITE samples (fetched and
// checked if ../shared/data is not there), printed as `physlite run` prints it.
// The fan-out issue turns this into the local pipeline.

import { runCommand } from '../shared/cli/run';
import { SAMPLES, samplePath } from './lib/samples';

const files: string[] = [];
for (const s of SAMPLES) if (s.profile) files.push(await samplePath(s.name));
console.log(`physlite run ${files.join(' ')}\n`);
process.exitCode = await runCommand(files, process.stdout);
console.log('\nTry: npx physlite run ../shared/data/PHYSLITE_example.root --json > result.json && npx physlite plot result.json --out plots');
