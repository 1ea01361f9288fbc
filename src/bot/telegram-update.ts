import type { Update } from 'grammy/types';

// The update checks live apart from the adapter so the web server can refuse a malformed webhook
// body without loading grammY (a WeChat-only kequn never loads it; see bench/memory.ts).

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v);
const isUser = (v: unknown): boolean => isObj(v) && isInt(v.id) && typeof v.first_name === 'string';
const isChat = (v: unknown): boolean => isObj(v) && isInt(v.id) && typeof v.type === 'string';

/**
 * Why an update cannot be handled (the fields kequn reads are missing or of the wrong type), or
 * undefined when it is fine. Update kinds kequn did not ask for pass: grammY ignores them.
 */
export function updateProblem(u: Update): string | undefined {
  const x = u as unknown as Record<string, unknown>;
  if (!isInt(x.update_id)) return 'update_id is not an integer';
  if ('message' in x) {
    const m = x.message;
    if (!isObj(m) || !isInt(m.message_id) || !isInt(m.date) || !isChat(m.chat)) return 'message needs message_id, date and chat';
    if (m.from !== undefined && !isUser(m.from)) return 'message.from is not a user';
    if (m.text !== undefined && typeof m.text !== 'string') return 'message.text is not text';
    if (m.entities !== undefined && !Array.isArray(m.entities)) return 'message.entities is not a list';
    const p = m.successful_payment;
    if (p !== undefined && (!isObj(p) || typeof p.invoice_payload !== 'string' || typeof p.telegram_payment_charge_id !== 'string' || !isInt(p.total_amount))) {
      return 'successful_payment needs invoice_payload, total_amount and telegram_payment_charge_id';
    }
  }
  for (const key of ['chat_member', 'my_chat_member']) {
    if (!(key in x)) continue;
    const c = x[key];
    const member = (v: unknown) => isObj(v) && typeof v.status === 'string' && isUser(v.user);
    if (!isObj(c) || !isChat(c.chat) || !isUser(c.from) || !isInt(c.date) || !member(c.old_chat_member) || !member(c.new_chat_member)) {
      return `${key} needs chat, from, date, old_chat_member and new_chat_member`;
    }
    if (c.invite_link !== undefined && !(isObj(c.invite_link) && typeof c.invite_link.invite_link === 'string' && isUser(c.invite_link.creator))) {
      return `${key}.invite_link needs invite_link and creator`;
    }
  }
  if ('pre_checkout_query' in x) {
    const q = x.pre_checkout_query;
    if (!isObj(q) || typeof q.id !== 'string' || !isUser(q.from) || typeof q.currency !== 'string' || !isInt(q.total_amount) || typeof q.invoice_payload !== 'string') {
      return 'pre_checkout_query needs id, from, currency, total_amount and invoice_payload';
    }
  }
  return undefined;
}
