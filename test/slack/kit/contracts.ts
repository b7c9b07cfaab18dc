import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * Slack's published contracts (../shared/contracts/slack): the Web API spec, the current method
 * list, and the Block Kit schema, plus the documented limits the schema does not encode.
 */
export const sharedDir = (): string => process.env.DESKBRIDGE_SHARED_DIR ?? path.resolve(process.cwd(), '../shared');
export const slackContractsDir = (): string => path.join(sharedDir(), 'contracts', 'slack');
export const contractsAvailable = (): boolean => existsSync(path.join(slackContractsDir(), 'slack_web_openapi_v2_without_examples.json'));

interface SpecParam { name: string; in: string; required?: boolean; type?: string }

/** Arguments newer than the frozen 2020 spec that we use on purpose (see contracts/README.md). */
const NEWER_ARGUMENTS: Record<string, string[]> = {
  'chat.postMessage': ['unfurl_links', 'unfurl_media', 'metadata'],
  'chat.update': ['metadata'],
  'conversations.history': ['include_all_metadata'],
  'conversations.replies': ['include_all_metadata'],
};

const BOOLEANS = new Set(['true', 'false', '1', '0']);

type Ajv = { compile(schema: unknown): ((data: unknown) => boolean) & { errors?: unknown[] | null }; addSchema(s: unknown): void };

export class SlackContracts {
  private readonly params = new Map<string, SpecParam[]>();
  private readonly currentMethods = new Set<string>();
  private readonly validateBlocks: ((d: unknown) => boolean) & { errors?: unknown[] | null };
  private readonly validateModal: ((d: unknown) => boolean) & { errors?: unknown[] | null };
  private readonly validateHome: ((d: unknown) => boolean) & { errors?: unknown[] | null };

  constructor(dir = slackContractsDir()) {
    const spec = JSON.parse(readFileSync(path.join(dir, 'slack_web_openapi_v2_without_examples.json'), 'utf8'));
    for (const [p, ops] of Object.entries<Record<string, { parameters?: SpecParam[] }>>(spec.paths)) {
      const op = Object.values(ops)[0]!;
      this.params.set(p.replace(/^\//, ''), op.parameters ?? []);
    }
    const tiers = JSON.parse(readFileSync(path.join(dir, 'web-api-methods-and-tiers.json'), 'utf8'));
    for (const m of tiers.methods as { name: string }[]) this.currentMethods.add(m.name);
    const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as new (o: unknown) => Ajv;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => void;
    addFormats(ajv);
    const schema = JSON.parse(readFileSync(path.join(dir, 'blockkit', 'slack-block-kit.schema.json'), 'utf8'));
    ajv.addSchema(schema);
    const id = schema.$id as string;
    this.validateBlocks = ajv.compile({ type: 'array', items: { $ref: `${id}#/$defs/block` } });
    this.validateModal = ajv.compile({ $ref: `${id}#/$defs/modal_view` });
    this.validateHome = ajv.compile({ $ref: `${id}#/$defs/home_view` });
  }

  /** Problems with one Web API call (empty when it conforms). */
  checkCall(method: string, args: Record<string, string>): string[] {
    const problems: string[] = [];
    const spec = this.params.get(method);
    if (!spec) {
      if (!this.currentMethods.has(method)) problems.push(`${method}: no such Web API method`);
      return problems;
    }
    // team_id: @slack/web-api adds it to every call of a per-workspace client (org-wide apps); Slack accepts it.
    const allowed = new Set([...spec.map((p) => p.name), ...(NEWER_ARGUMENTS[method] ?? []), 'team_id']);
    for (const p of spec) {
      if (p.required && p.name !== 'token' && args[p.name] === undefined) problems.push(`${method}: missing required argument ${p.name}`);
    }
    for (const [k, v] of Object.entries(args)) {
      if (k === 'token') continue;
      if (!allowed.has(k)) { problems.push(`${method}: unknown argument ${k}`); continue; }
      const type = spec.find((p) => p.name === k)?.type;
      if (type === 'boolean' && !BOOLEANS.has(v)) problems.push(`${method}: ${k} must be a boolean, got ${v}`);
      if (type === 'integer' && !/^-?\d+$/.test(v)) problems.push(`${method}: ${k} must be an integer, got ${v}`);
      if (type === 'number' && Number.isNaN(Number(v))) problems.push(`${method}: ${k} must be a number, got ${v}`);
    }
    const json = (k: string) => { try { return JSON.parse(args[k]!); } catch { problems.push(`${method}: ${k} is not JSON`); return undefined; } };
    if (args.blocks !== undefined) problems.push(...this.checkMessageBlocks(json('blocks'), `${method}.blocks`));
    if (args.attachments !== undefined) {
      const atts = json('attachments');
      if (!Array.isArray(atts)) problems.push(`${method}: attachments must be an array`);
      else atts.forEach((a: { blocks?: unknown }, i: number) => { if (a.blocks) problems.push(...this.checkMessageBlocks(a.blocks, `${method}.attachments[${i}].blocks`)); });
    }
    if (args.text !== undefined && args.text.length > 40_000) problems.push(`${method}: text longer than 40,000`);
    if (args.view !== undefined) problems.push(...this.checkView(json('view'), method));
    return problems;
  }

  checkMessageBlocks(blocks: unknown, where: string): string[] {
    if (!Array.isArray(blocks)) return [`${where}: not an array`];
    const problems: string[] = [];
    if (blocks.length > 50) problems.push(`${where}: ${blocks.length} blocks (max 50 per message)`);
    if (!this.validateBlocks(blocks)) problems.push(`${where}: Block Kit schema: ${JSON.stringify(this.validateBlocks.errors?.slice(0, 3))}`);
    problems.push(...limits(blocks, where));
    return problems;
  }

  checkView(view: Record<string, unknown> | undefined, where: string): string[] {
    if (!view) return [];
    const problems: string[] = [];
    const validate = view.type === 'home' ? this.validateHome : this.validateModal;
    if (!validate(view)) problems.push(`${where}: ${String(view.type)} view schema: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
    const blocks = (view.blocks as unknown[]) ?? [];
    if (blocks.length > 100) problems.push(`${where}: ${blocks.length} blocks (max 100 per view)`);
    for (const k of ['title', 'submit', 'close']) {
      const t = (view[k] as { text?: string } | undefined)?.text;
      if (t !== undefined && t.length > 24) problems.push(`${where}: ${k} longer than 24`);
    }
    if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000) problems.push(`${where}: private_metadata longer than 3,000`);
    problems.push(...limits(blocks, where));
    return problems;
  }
}

/** The documented limits (contracts/README.md) walked over every block and element. */
export function limits(blocks: unknown[], where: string): string[] {
  const problems: string[] = [];
  const over = (what: string, s: string | undefined, max: number) => {
    if (typeof s === 'string' && s.length > max) problems.push(`${where}: ${what} longer than ${max} (${s.length})`);
  };
  const element = (e: Record<string, any>, at: string) => {
    over(`${at}.action_id`, e.action_id, 255);
    if (e.type === 'button') { over(`${at} button text`, e.text?.text, 75); over(`${at} button value`, e.value, 2000); }
    const options = (e.options ?? []) as Record<string, any>[];
    if (e.type === 'overflow' && options.length > 5) problems.push(`${where}: ${at} overflow has ${options.length} options (max 5)`);
    if (/static_select$/.test(e.type) && options.length > 100) problems.push(`${where}: ${at} select has ${options.length} options (max 100)`);
    for (const o of [...options, ...(e.initial_option ? [e.initial_option] : []), ...(e.initial_options ?? [])]) {
      over(`${at} option text`, o.text?.text, 75);
      over(`${at} option value`, o.value, 150);
    }
  };
  blocks.forEach((raw, i) => {
    const b = raw as Record<string, any>;
    const at = `block[${i}](${b.type})`;
    over(`${at}.block_id`, b.block_id, 255);
    if (b.type === 'section') { over(`${at} text`, b.text?.text, 3000); for (const f of b.fields ?? []) over(`${at} field`, f.text, 2000); if (b.accessory) element(b.accessory, at); }
    if (b.type === 'header') over(`${at} text`, b.text?.text, 150);
    if (b.type === 'actions') { if ((b.elements ?? []).length > 25) problems.push(`${where}: ${at} has more than 25 elements`); (b.elements ?? []).forEach((e: any) => element(e, at)); }
    if (b.type === 'context' && (b.elements ?? []).length > 10) problems.push(`${where}: ${at} has more than 10 elements`);
    if (b.type === 'input' && b.element) element(b.element, at);
  });
  return problems;
}
