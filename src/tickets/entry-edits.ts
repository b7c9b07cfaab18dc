import { invalid } from '../domain/errors.js';
import { searchWords } from '../domain/search-words.js';
import type { TicketCore } from './core.js';
import { entryFromDoc } from './mappers.js';
import { recordActivity } from './update-fields.js';
import type { PersonRef } from './types.js';

/*
 * Use case: someone edits or deletes, in a chat platform, a message that became (or is about to
 * become) a ticket entry. The rule, in one place:
 *
 *   - still inside the undo window (held, not sent): an edit changes what will be sent; a delete
 *     cancels the send;
 *   - an internal note: the note follows the edit (its text is replaced, the change logged); a
 *     deleted note stays on the ticket (history), and the deletion is logged;
 *   - a reply that was already sent (emailed, relayed): nothing can be unsent; the edit or delete
 *     is recorded in the activity log and the caller tells the author the email went out unchanged.
 *
 * Activity entries name the entry, never its text: an internal note's words stay in the note.
 */

export type ChatEdit = { kind: 'edited'; text: string } | { kind: 'deleted' };

/** The platform's control over a reply still held for its undo window (Slack's held replies). */
export interface HeldSend {
  /** Replaces the text to be sent; false when it is no longer held (sent, undone, noted). */
  change(text: string): Promise<boolean>;
  /** Cancels the send; false when it is no longer held. */
  cancel(): Promise<boolean>;
}

export type EditOutcome =
  | 'held_changed' // the edit will be sent instead
  | 'held_cancelled' // nothing will be sent
  | 'note_updated'
  | 'note_deleted_logged'
  | 'sent_unchanged' // already sent: logged; tell the author
  | 'unknown'; // no entry for that message (not a ticket message, or still being sent)

export async function applyChatEdit(
  core: TicketCore,
  input: { messageId: string; edit: ChatEdit; by: PersonRef; source: string; held?: HeldSend },
): Promise<{ outcome: EditOutcome; ticketNumber: number | null }> {
  const { edit, held } = input;
  if (edit.kind === 'edited' && !edit.text.trim()) throw invalid('text', 'must not be empty');
  if (held) {
    if (edit.kind === 'edited' ? await held.change(edit.text) : await held.cancel()) {
      return { outcome: edit.kind === 'edited' ? 'held_changed' : 'held_cancelled', ticketNumber: null };
    }
  }
  const doc = await core.models.Entry.findOne({ messageId: input.messageId }).lean();
  if (!doc) return { outcome: 'unknown', ticketNumber: null };
  const entry = entryFromDoc(doc);
  const actor = await core.actorFor(input.by);
  const meta = { entryId: entry.id, source: input.source };
  if (entry.kind === 'note') {
    if (edit.kind === 'deleted') {
      await recordActivity(core, entry.ticketNumber, 'note_deleted_in_chat', meta, actor);
      return { outcome: 'note_deleted_logged', ticketNumber: entry.ticketNumber };
    }
    await core.models.Entry.updateOne({ _id: doc._id, kind: 'note' }, { $set: { text: edit.text, html: null, 'external.editedAt': new Date() } });
    // The note's new words join the technicians' search list only (never the public one). The
    // version bump makes a concurrent ticket write retry on top of it instead of overwriting it.
    // Only when a word is new: DocumentDB 0.106 grows a hidden part of the document on every
    // `$addToSet` that adds nothing next to another operator and refuses the 20th such update.
    const words = searchWords(edit.text);
    if (words.length > 0) {
      await core.models.Ticket.collection.updateOne({ number: entry.ticketNumber, searchWords: { $not: { $all: words } } }, { $addToSet: { searchWords: { $each: words } }, $inc: { version: 1 } } as never);
    }
    await recordActivity(core, entry.ticketNumber, 'note_edited', meta, actor);
    return { outcome: 'note_updated', ticketNumber: entry.ticketNumber };
  }
  await recordActivity(core, entry.ticketNumber, edit.kind === 'edited' ? 'edited_after_send' : 'deleted_after_send', meta, actor);
  return { outcome: 'sent_unchanged', ticketNumber: entry.ticketNumber };
}
