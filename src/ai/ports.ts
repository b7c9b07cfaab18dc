import type { SentimentLabel } from './lexicon.js';

/*
 * What ai/ needs from the rest of the product, declared here so that ai/ imports only domain/
 * (ARCHITECTURE.md). The ticket service, the app's logger and the tickets' views satisfy these
 * shapes structurally; ai/module.ts is the one file that wires them in.
 */

export type ComposeAction = 'generate' | 'rephrase' | 'casual' | 'formal';

/** The technician a draft is written for: by email or by person id. */
export type TechnicianRef = { email: string; name?: string } | { personId: string };

export interface ComposeInput {
  ticketNumber: number;
  action: ComposeAction;
  /** The technician's draft (required for rephrase, casual, formal). */
  draft?: string;
  technician: TechnicianRef;
}

/** Drafts a reply; never sends anything. Slack, Teams and the API show compose actions only when configured. */
export interface Composer {
  isConfigured(): boolean;
  compose(input: ComposeInput): Promise<{ text: string }>;
}

export interface AiLogger {
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/** One entry of a ticket's conversation, as far as prompts and sentiment read it. */
export interface ConversationEntry {
  kind: string;
  author: { kind: string; name: string };
  text: string;
  createdAt: Date;
}

/** The ticket reads and the one write (sentiment) the AI features make. */
export interface TicketAccess {
  getContactView(number: number): Promise<{ title: string; requester: { name: string } | null; entries: ConversationEntry[] }>;
  getTicket(number: number): Promise<{ number: number; entries: ConversationEntry[]; sentiment: { at: Date } | null }>;
  publicEntries(numbers: number[]): Promise<ConversationEntry[]>;
  conversationNumbers(number: number): Promise<number[]>;
  setSentiment(number: number, sentiment: { label: SentimentLabel; score?: number; source: string }): Promise<void>;
  people: { resolveTechnician(ref: TechnicianRef, field: string): Promise<{ name: string; primaryEmail: string }> };
  settings: { get(): Promise<{ aiMayReadNotes: boolean }> };
}
