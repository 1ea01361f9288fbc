import { GrammyError, HttpError, type Transformer } from 'grammy';
import { ChannelClosedError, PermanentSendError, RetryAfterError } from './events.js';

/**
 * A Bot API answer that breaks the Bot API's own contract, made into one grammY understands with
 * its reason kept. Telegram answers every failure with `{ ok: false, error_code, description }`;
 * an emulator, a self-hosted Bot API server or a proxy may answer `{ ok: false }` alone or with
 * fields of its own, which grammY reported as "(undefined: undefined)": the invoice that was not
 * sent said nothing of why. Installed innermost, so the retry plugin sees a normal error.
 */
export const keepNonStandardErrors: Transformer = async (prev, method, payload, signal) => {
  const answer = await prev(method, payload, signal);
  if (answer.ok) return answer;
  const a = answer as unknown as Record<string, unknown>;
  if (typeof a.error_code === 'number' && typeof a.description === 'string') return answer;
  const { ok: _ok, ...rest } = a;
  return {
    ok: false,
    error_code: typeof a.error_code === 'number' ? a.error_code : 0,
    description: `a non-standard error answer from the Bot API server: ${JSON.stringify(rest).slice(0, 300) || '(empty)'}`,
  };
};

/**
 * Why a Bot API call failed, in one line a seller can act on, never with the bot token in it.
 * grammY's HttpError says only "Network request for 'sendInvoice' failed!" and keeps the cause
 * (a refused connection, an HTML page where JSON was expected) aside, with the token inside
 * its URL; here the cause is kept and the token blanked.
 */
export function failureReason(e: unknown, token: string): string {
  const hide = (s: string) => (token ? s.split(token).join('<token>') : s);
  if (e instanceof GrammyError) return hide(`${e.method} failed: ${e.error_code} ${e.description}`);
  if (e instanceof HttpError) {
    const cause = e.error as { message?: string; code?: string; cause?: { code?: string; message?: string } } | undefined;
    const detail = [cause?.message, cause?.code, cause?.cause?.code ?? cause?.cause?.message].filter(Boolean).join('; ');
    return hide(detail ? `${e.message} (${detail})` : e.message);
  }
  return hide(e instanceof Error ? e.message : String(e));
}

/**
 * One failed Bot API call to a chat as the outbox understands it: 403 (kicked, blocked, never
 * started) is permanent and marks the chat unreachable, a private chat not open is held
 * (ChannelClosedError), 429 waits `retry_after`, a chat that does not exist is permanent, and
 * anything else is retried with its reason kept.
 */
export function sendFailure(e: unknown, chatId: string, token: string): { error: Error; unreachable?: string } {
  if (!(e instanceof GrammyError)) return { error: new Error(`telegram: ${failureReason(e, token)} (chat ${chatId})`) };
  if (e.error_code === 403) {
    // A private chat that is not open (never started, blocked): the outbox holds its messages.
    if (!chatId.startsWith('-')) {
      if (/blocked by the user/i.test(e.description)) return { error: new ChannelClosedError(`telegram: ${e.description} (chat ${chatId})`, 'blocked'), unreachable: e.description };
      if (/can't initiate conversation|bot can.t initiate/i.test(e.description)) return { error: new ChannelClosedError(`telegram: ${e.description} (chat ${chatId})`, 'not_open'), unreachable: e.description };
    }
    return { error: new PermanentSendError(`telegram: ${e.description} (chat ${chatId})`), unreachable: e.description };
  }
  if (e.error_code === 429) {
    const seconds = e.parameters.retry_after ?? 30;
    return { error: new RetryAfterError(`telegram: flood limit, retry after ${seconds}s (chat ${chatId})`, seconds * 1000) };
  }
  if (e.error_code === 400 && /chat not found|user not found|PEER_ID_INVALID/i.test(e.description)) {
    return { error: new PermanentSendError(`telegram: ${e.description} (chat ${chatId})`) };
  }
  return { error: new Error(`telegram: ${failureReason(e, token)} (chat ${chatId})`) };
}
