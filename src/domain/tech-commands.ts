/**
 * What a technician types to the bot in a 1:1 chat (Slack DM, Teams personal chat). A technician
 * there is working, not asking for help: their words are commands, never an end user's chat
 * ticket. Pure parsing; each adapter runs the command through the ticket service.
 */
export type TechCommand =
  | { kind: 'mine' }
  | { kind: 'unassigned' }
  | { kind: 'show'; number: number }
  | { kind: 'new'; title: string; description: string }
  | { kind: 'search'; words: string }
  | { kind: 'help'; problem?: string };

const MAX_TITLE = 200;

export function parseTechCommand(input: string): TechCommand {
  const text = input.trim();
  const lower = text.toLowerCase().replace(/[.!?]+$/, '');
  if (/^(my tickets|my|mine)$/.test(lower)) return { kind: 'mine' };
  if (/^(unassigned|unassigned tickets)$/.test(lower)) return { kind: 'unassigned' };
  const number = /^(?:ticket\s+)?#?(\d{1,9})$/.exec(lower);
  if (number) return { kind: 'show', number: Number(number[1]) };
  const search = /^(?:search|find)\s+([\s\S]+)$/i.exec(text);
  if (search) return { kind: 'search', words: search[1]!.trim() };
  const created = /^new\b[:\s]*([\s\S]*)$/i.exec(text);
  if (created) {
    const [first = '', ...rest] = created[1]!.split('\n');
    const title = first.trim();
    if (!title) return { kind: 'help', problem: 'Write the title after "new", e.g. "new Printer on 3rd floor is offline".' };
    return { kind: 'new', title: title.slice(0, MAX_TITLE), description: rest.join('\n').trim() || title };
  }
  return { kind: 'help' };
}

/** The help text both platforms show (plain text; each adapter may format it). */
export const TECH_COMMANDS_HELP = [
  'You are a technician here; I understand:',
  '• my tickets — open tickets assigned to you',
  '• unassigned — open tickets nobody has',
  '• 42 — ticket #42',
  '• new <title> — open a ticket (you are the requester; more lines become the description)',
  '• search <words> — find tickets',
].join('\n');
