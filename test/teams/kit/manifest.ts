import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as Ajv04Module from 'ajv-draft-04';
import { contractsDir } from './contracts.js';

type Ajv04Class = typeof Ajv04Module.default.default;
const Ajv04: Ajv04Class = (Ajv04Module.default as unknown as { default?: Ajv04Class }).default ?? (Ajv04Module.default as unknown as Ajv04Class);

/** Validates a Teams app manifest against Microsoft's published schema (draft-04 with `const`). */
export function manifestProblems(manifest: unknown, version = '1.29'): string[] {
  const schema = JSON.parse(readFileSync(path.join(contractsDir, 'teams', `MicrosoftTeams.v${version}.schema.json`), 'utf8'));
  const ajv = new Ajv04({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  return validate(manifest) ? [] : (validate.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`);
}
