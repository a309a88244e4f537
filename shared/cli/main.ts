// Bundle entry of the `physlite` command (built to dist/physlite.js).
import { run } from './physlite';

await run(process.argv.slice(2));
