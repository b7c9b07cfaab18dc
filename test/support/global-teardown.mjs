import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  const state = globalThis.__deskbridgeDb;
  if (!state) return;
  await state.db.stop();
  rmSync(state.dataDir, { recursive: true, force: true });
}
