import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { JSDOM } from 'jsdom';
import { contractsDir, repoRoot } from './contracts.js';

/**
 * Checks an Adaptive Card the way Teams would: the published 1.5 schema (with the fix-ups in
 * contracts/README.md), the `adaptivecards` package's own parser and validator, the size limit,
 * and the Teams-only `msteams` property (mentions must match <at>…</at> text in the card).
 */
export const TEAMS_CARD_LIMIT_BYTES = 28 * 1024;

let ajvValidate: ValidateFunction | null = null;
function schemaValidator() {
  if (ajvValidate) return ajvValidate;
  const raw = JSON.parse(readFileSync(path.join(contractsDir, 'adaptivecards', 'adaptive-card.1.5.0.json'), 'utf8'));
  // Draft-06 names its id `id`; ajv 8 wants `$id` and the draft-06 meta-schema registered.
  raw.$id = raw.id;
  delete raw.id;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const require = createRequire(import.meta.url);
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
  ajvValidate = ajv.compile(raw);
  return ajvValidate;
}

let AC: any = null;
function adaptiveCards() {
  if (AC) return AC;
  const dom = new JSDOM('<!doctype html><html><body></body></html>');
  const g = globalThis as any;
  g.window ??= dom.window;
  g.document ??= dom.window.document;
  g.HTMLElement ??= dom.window.HTMLElement;
  g.navigator ??= dom.window.navigator;
  const require = createRequire(path.join(repoRoot, 'package.json'));
  AC = require('adaptivecards/dist/adaptivecards.js');
  return AC;
}

export interface CardProblems {
  schema: string[];
  parser: string[];
  msteams: string[];
  bytes: number;
}

export function checkCard(card: any): CardProblems {
  const bytes = Buffer.byteLength(JSON.stringify(card), 'utf8');
  const { msteams, ...plain } = card;
  const validate = schemaValidator();
  const schema = validate(plain) ? [] : (validate.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`);
  const lib = adaptiveCards();
  const parsed = new lib.AdaptiveCard();
  const context = new lib.SerializationContext();
  parsed.parse(JSON.parse(JSON.stringify(plain)), context);
  const parser: string[] = [];
  for (let i = 0; i < context.eventCount; i++) parser.push(context.getEventAt(i).message);
  for (const issue of parsed.validateProperties().validationEvents) parser.push(issue.message);
  const teams: string[] = [];
  if (card.version !== '1.5') teams.push(`version ${card.version}: Universal Actions need 1.5`);
  if (card.refresh?.userIds && card.refresh.userIds.length > 60) teams.push(`refresh.userIds has ${card.refresh.userIds.length} (> 60)`);
  if (msteams) {
    const text = JSON.stringify(plain);
    for (const e of msteams.entities ?? []) {
      if (e.type !== 'mention') teams.push(`msteams entity type ${e.type}`);
      if (!e.mentioned?.id || !e.mentioned?.name) teams.push('mention without mentioned.id/name');
      if (!text.includes(e.text)) teams.push(`mention text ${e.text} does not appear in the card`);
    }
  }
  return { schema, parser, msteams: teams, bytes };
}

/** Throws with every problem listed; use in tests as expectValidCard(card). */
export function expectValidCard(card: any): void {
  const p = checkCard(card);
  const all = [...p.schema.map((s) => `schema: ${s}`), ...p.parser.map((s) => `adaptivecards: ${s}`), ...p.msteams.map((s) => `teams: ${s}`)];
  if (p.bytes > TEAMS_CARD_LIMIT_BYTES) all.push(`size: ${p.bytes} bytes > ${TEAMS_CARD_LIMIT_BYTES}`);
  if (all.length > 0) throw new Error(`invalid Adaptive Card:\n  ${all.join('\n  ')}\n${JSON.stringify(card).slice(0, 400)}`);
}

/** Every adaptive card attachment in an outgoing activity (or invoke/task response body). */
export function cardsIn(value: any): any[] {
  const out: any[] = [];
  const walk = (v: any) => {
    if (!v || typeof v !== 'object') return;
    if (v.type === 'AdaptiveCard') {
      out.push(v);
      return;
    }
    for (const k of Object.keys(v)) walk(v[k]);
  };
  walk(value);
  return out;
}
