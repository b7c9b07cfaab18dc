import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startEmbeddedDatabase } from '../../src/store/embedded.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/**
 * A fresh service (from sources, or dist/ with BENCH_SERVICE_BUILT=1) on its own embedded database,
 * with the inbound SMTP listener on a free port: what the probes in bench/probes measure.
 */
export async function startProbeService(): Promise<{ svc: ServiceProcess; smtpPort: number; close(): Promise<void> }> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-probe-'));
  chmodSync(tmp, 0o711);
  const db = await startEmbeddedDatabase({ dataDir: path.join(tmp, 'db') });
  const u = new URL(db.uri);
  u.pathname = '/deskbridge_probe';
  const smtpPort = await freePort();
  const svc = await startServiceProcess({ env: {
    MONGODB_URI: u.toString(), DATA_DIR: path.join(tmp, 'data'), LOG_LEVEL: 'warn',
    INBOUND_SMTP_PORT: String(smtpPort), MAIL_RATE_LIMIT: '100000', MAIL_FROM: 'Helpdesk <support@helpdesk.example>',
  } });
  return {
    svc, smtpPort,
    async close() {
      await svc.stop();
      await db.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
