import { parentPort } from 'node:worker_threads';
import { parseMessageFile } from './parse.js';

/*
 * A parse worker of MessageParser's pool: reads a spooled message from its file and writes its
 * attachments to files in the message's work folder; only text, headers and file names come back.
 */
parentPort!.on('message', async (req: { file: string; outDir: string }) => {
  try {
    parentPort!.postMessage({ parsed: await parseMessageFile(req.file, req.outDir) });
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message });
  }
});
