import { parentPort } from 'node:worker_threads';
import { parseMessage } from './parse.js';

/* Parses messages off the main thread (see MessageParser). Attachments are copied back. */
parentPort!.on('message', async (req: { id: number; raw: Uint8Array }) => {
  try {
    parentPort!.postMessage({ id: req.id, parsed: await parseMessage(req.raw) });
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: (err as Error).message });
  }
});
