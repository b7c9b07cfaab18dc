#!/usr/bin/env node
// The installed command runs the compiled CLI; `npm run build` (or `npm start`) produces dist/.
import { main, reportAndExit } from '../dist/cli.js';

main().catch(reportAndExit);
