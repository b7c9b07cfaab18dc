#!/usr/bin/env node
// The installed command runs the compiled CLI; `npm run build` (or `npm start`) produces dist/.
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('deskbridge: not built yet: run `npm run build` first');
    process.exit(1);
  }
  throw err;
});
