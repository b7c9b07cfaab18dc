#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: a young generation of 2 × 4 MB instead of V8's 2 × 16 MB. The service
// allocates fast while mail streams in, and every MB of young space it grows to stays resident:
// ~25 MB less RSS idle and 40–70 MB less at the peak with six 5 MB mails (docs/benchmarks.md,
// issue 16). The same flag is in the Dockerfile's CMD, `npm start` and the benchmark's service.
// The installed command runs the compiled CLI; `npm run build` (or `npm start`) produces dist/.
import { main, reportAndExit } from '../dist/cli.js';

main().catch(reportAndExit);
