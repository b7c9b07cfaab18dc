import { mailIngestCommand } from './email/ingest-command.js';
import { backupCommand, restoreCommand } from './store/backup-command.js';

/**
 * Commands other parts add to the CLI (e.g. `mail ingest`). One entry per command; each runs in
 * the same process with one database connection.
 */
export interface CliCommand {
  name: string;
  usage: string;
  run(args: string[]): Promise<void>;
}

export const extraCommands: CliCommand[] = [
  mailIngestCommand,
  backupCommand,
  restoreCommand,
];
