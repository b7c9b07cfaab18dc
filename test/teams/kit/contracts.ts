import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** /work/shared (contracts, corpora): DESKBRIDGE_SHARED_DIR, else ../shared beside the repo. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const sharedDir = process.env.DESKBRIDGE_SHARED_DIR ?? path.resolve(repoRoot, '../shared');
export const contractsDir = path.join(sharedDir, 'contracts');
export const contractsPresent = existsSync(path.join(contractsDir, 'teams', 'ConnectorAPI.json'));

/** test or test.skip, with a visible reason when the shared contracts are missing. */
export function contractTest(name: string): typeof test {
  if (contractsPresent) return test;
  console.warn(`skipping "${name}": shared contracts not found at ${contractsDir} (set DESKBRIDGE_SHARED_DIR)`);
  return test.skip;
}
export const skipReason = contractsPresent ? '' : ' [SKIPPED: no shared contracts]';
