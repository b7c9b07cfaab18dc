import { DeskbridgeError, invalid } from '../domain/errors.js';
import type { ChatClient } from './client.js';
import type { AiLogger, Composer, ComposeAction, ComposeInput, ConversationEntry, TicketAccess } from './ports.js';
import { buildComposeMessages, quotedNoteRuns, stripQuotedNotes, type PromptEntry } from './prompt.js';

export const COMPOSE_ACTIONS: readonly ComposeAction[] = ['generate', 'rephrase', 'casual', 'formal'];

export const NOT_CONFIGURED_MESSAGE =
  'AI drafts are not configured: set OPENAI_API_KEY (and OPENAI_BASE_URL / OPENAI_MODEL for Azure OpenAI, Ollama, vLLM or LM Studio) and restart.';

const fromLabel = (e: ConversationEntry) => (e.author.kind === 'contact' ? 'end user' : e.author.kind);
const toPrompt = (e: ConversationEntry): PromptEntry => ({ from: fromLabel(e), name: e.author.name, text: e.text, at: e.createdAt.toISOString() });

/**
 * Drafts replies with an OpenAI-compatible model. Reads the public conversation through the
 * end-user view (so notes are excluded by the query); notes are added only when the admin allows
 * it, and any draft sentence quoting a note is removed before the technician sees it.
 */
export class AiComposer implements Composer {
  constructor(
    private readonly client: ChatClient | null,
    private readonly service: TicketAccess,
    private readonly logger: AiLogger,
  ) {}

  isConfigured(): boolean {
    return this.client !== null;
  }

  async compose(input: ComposeInput): Promise<{ text: string }> {
    if (!this.client) throw new DeskbridgeError('UNAVAILABLE', NOT_CONFIGURED_MESSAGE);
    if (!COMPOSE_ACTIONS.includes(input.action)) throw invalid('action', `one of ${COMPOSE_ACTIONS.join(', ')}`);
    const draft = input.draft?.trim() ?? '';
    if (input.action !== 'generate' && !draft) throw invalid('draft', `required for "${input.action}"`);

    const view = await this.service.getContactView(input.ticketNumber);
    const tech = await this.service.people.resolveTechnician(input.technician, 'technician');
    const settings = await this.service.settings.get();
    const notes = settings.aiMayReadNotes ? await this.internalNotes(input.ticketNumber) : [];

    const messages = buildComposeMessages({
      action: input.action,
      title: view.title,
      requesterName: view.requester?.name ?? '',
      technicianName: tech.name || tech.primaryEmail,
      conversation: view.entries.filter((e) => e.text.trim()).map(toPrompt),
      internalNotes: notes.map(toPrompt),
      draft,
    });
    const raw = await this.client.complete(messages, { temperature: input.action === 'generate' ? 0.4 : 0.2 });
    const runs = quotedNoteRuns(raw, notes.map((n) => n.text), draft);
    if (runs.length === 0) return { text: raw };
    const cleaned = stripQuotedNotes(raw, runs);
    this.logger.warn({ ticket: input.ticketNumber, runs: runs.length }, 'AI draft quoted an internal note; sentences removed');
    if (!cleaned || quotedNoteRuns(cleaned, notes.map((n) => n.text), draft).length > 0) {
      throw new DeskbridgeError('UNAVAILABLE', 'The AI draft quoted an internal note and was withheld; try again or write the reply yourself.');
    }
    return { text: cleaned };
  }

  private async internalNotes(number: number): Promise<ConversationEntry[]> {
    const t = await this.service.getTicket(number);
    return t.entries.filter((e) => e.kind === 'note' && e.text.trim());
  }
}
