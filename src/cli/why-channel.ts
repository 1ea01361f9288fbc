import type { CourseConfig } from '../core/types.js';
import type { Db } from '../store/db.js';
import { friendRequestsOf } from '../store/friend-requests.js';
import { heldOf } from '../store/held-messages.js';
import { identitiesOf } from '../store/members.js';
import { channelsOf, channelWaitsOf, getChannel } from '../store/private-channels.js';

/** How many held messages `kequn why` lists (the newest). */
const HELD_SHOWN = 10;

/**
 * The private channel part of `kequn why <member>`: per platform whether the bot can write to
 * them and since when, what is held for them (and until when), what expired or was dropped and
 * why, sequences waiting for the channel, their friend requests and what the policy said.
 */
export function channelLines(db: Db, config: CourseConfig, memberId: string, when: (t: number) => string): string[] {
  const lines: string[] = [];
  const window = config.privateChannel.hold_for;
  const identities = identitiesOf(db, memberId);
  const channels = new Map(channelsOf(db, memberId).map((c) => [c.platform, c]));
  for (const i of identities) {
    const c = channels.get(i.platform) ?? getChannel(db, i.platform, i.platform_id);
    const state =
      !c
        ? 'not known yet (nothing sent or received privately)'
        : c.state === 'open'
          ? `open since ${when(c.changed_at)} (${c.how})${c.source ? `, source ${c.source}` : ''}`
          : c.state === 'blocked'
            ? `blocked by the member since ${when(c.changed_at)}`
            : `not open (${c.how}, since ${when(c.changed_at)})`;
    lines.push(`private channel on ${i.platform}: ${state}`);
  }
  const held = heldOf(db, memberId, 1000);
  if (held.length > 0) {
    const by = (s: string) => held.filter((h) => h.state === s);
    const waiting = by('held');
    const parts = [`${waiting.length} waiting`, `${by('delivered').length} delivered when the channel opened`, `${by('expired').length} expired`, `${by('dropped').length} dropped`];
    lines.push(`held private messages: ${parts.join(', ')}`);
    for (const h of held.slice(0, HELD_SHOWN)) {
      const what = `${h.text.replace(/\s+/g, ' ').slice(0, 40)}${h.text.length > 40 ? '…' : ''}`;
      const fate =
        h.state === 'held'
          ? `waiting, expires ${when(h.held_at + window)}`
          : h.state === 'delivered'
            ? `delivered ${when(h.done_at!)}`
            : `${h.state} ${when(h.done_at!)}: ${h.reason}`;
      lines.push(`  ${when(h.held_at)} ${h.rule_id ?? ''}: "${what}" — ${fate}`);
    }
  }
  for (const w of channelWaitsOf(db, memberId)) {
    const fate = w.state === 'waiting' ? `waiting for the private channel, until ${when(w.created_at + window)}` : `${w.state} ${when(w.done_at!)}${w.note ? `: ${w.note}` : ''}`;
    lines.push(`sequence ${w.sequence} (${w.platform}, from ${when(w.created_at)}): ${fate}`);
  }
  for (const i of identities) {
    for (const r of friendRequestsOf(db, i.platform, i.platform_id)) {
      lines.push(`friend request ${when(r.received_at)} "${r.greeting.slice(0, 40)}": ${r.status} — ${r.reason}${r.error ? ` (${r.error})` : ''}`);
    }
  }
  return lines;
}
