/** The outbox's lanes, apart from outbox.ts so held-messages.ts (which outbox.ts calls) can name them. */

/**
 * Which lane a message waits in (docs/operations.md). `urgent`: a newcomer's welcome, a staff
 * command's answer, a login link; `reply`: an answer to what a member just did; `bulk`: notices
 * and escalations to staff, moderation notices; `push`: proactive messages (lessons, reminders,
 * announcements), which quiet hours hold. A lane is served before the next; bulk and push share one.
 */
export type Priority = 'urgent' | 'reply' | 'bulk' | 'push';

export const PRIORITIES: readonly Priority[] = ['urgent', 'reply', 'bulk', 'push'];

/** 0 is served first; bulk and push share the last lane. */
export function laneOf(p: Priority): number {
  return p === 'urgent' ? 0 : p === 'reply' ? 1 : 2;
}
