import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from '../logger.js';

/** How a parse worker thread is started: a JavaScript file, or (last resort) TypeScript through tsx. */
export type ParseWorkerSource =
  | { kind: 'built' | 'bundled'; file: URL }
  | { kind: 'tsx'; evalSource: string };

/** Where generated files are cached, as scripts/install-embedded-db.sh does. */
export function deskbridgeCacheDir(env = process.env): string {
  return env.DESKBRIDGE_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'deskbridge');
}

/**
 * The parse worker's script. Built code (dist/, the production image) runs dist/email/parse-worker.js.
 * From TypeScript sources (development, tests, the benchmark) the worker file and what it imports
 * are bundled once per process with esbuild into one CommonJS file in the cache folder: a worker
 * that loads TypeScript through tsx costs ~60 MB more (its own loader thread and compiler) than
 * one running plain JavaScript. Only when esbuild is missing or fails does the worker use tsx.
 */
export function parseWorkerSource(logger: Logger, selfUrl = import.meta.url, cacheDir = deskbridgeCacheDir()): Promise<ParseWorkerSource> {
  return workerScriptSource('parse-worker', logger, selfUrl, cacheDir);
}

/** A worker script of this folder (`name`.ts beside `selfUrl`), started as parseWorkerSource says. */
export async function workerScriptSource(name: string, logger: Logger, selfUrl: string, cacheDir = deskbridgeCacheDir()): Promise<ParseWorkerSource> {
  if (!selfUrl.endsWith('.ts')) return { kind: 'built', file: new URL(`./${name}.js`, selfUrl) };
  const entry = fileURLToPath(new URL(`./${name}.ts`, selfUrl));
  try {
    const { build } = await import('esbuild');
    const out = await build({
      entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20',
      write: false, logLevel: 'silent', legalComments: 'none',
    });
    const code = out.outputFiles[0]!.contents;
    // Named by content: processes built from other sources (other checkouts, other versions) never
    // share a file, and an unchanged bundle is not written again.
    const dir = path.join(cacheDir, name);
    const file = path.join(dir, `${name}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.cjs`);
    if (!existsSync(file)) {
      await mkdir(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, code);
      await rename(tmp, file); // atomic: a worker never starts from a half-written file
    } else {
      const now = new Date();
      await utimes(file, now, now); // in use: kept by pruneStaleBundles
    }
    await pruneStaleBundles(name, dir, file).catch((err) => logger.debug({ err }, `${name}: could not prune old bundles`));
    return { kind: 'bundled', file: pathToFileURL(file) };
  } catch (err) {
    logger.warn({ err }, `${name}: could not bundle it with esbuild; running it through tsx (about 60 MB more per worker)`);
    return { kind: 'tsx', evalSource: tsxWorkerSource(entry, selfUrl) };
  }
}

/** A bundle no process has started from for this long is removed (each source change makes a new one). */
export const STALE_BUNDLE_MS = 7 * 24 * 3600_000;

async function pruneStaleBundles(worker: string, dir: string, current: string, now = Date.now()): Promise<void> {
  const ours = new RegExp(`^${worker}-[0-9a-f]+\\.cjs(\\.\\d+\\.tmp)?$`);
  for (const name of await readdir(dir)) {
    const f = path.join(dir, name);
    if (f === current || !ours.test(name)) continue;
    if ((await stat(f)).mtimeMs < now - STALE_BUNDLE_MS) await rm(f, { force: true });
  }
}

function tsxWorkerSource(entry: string, selfUrl: string): string {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  return `import(${JSON.stringify(tsxApi)}).then((m) => m.tsImport(${JSON.stringify(pathToFileURL(entry).href)}, ${JSON.stringify(selfUrl)}))`;
}
