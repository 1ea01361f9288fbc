/**
 * The JSON the playground page reads: GET /api/playground/state and /api/playground/members/:id
 * (src/web/api.ts). Written from the page's side: only what it uses. test/unit/playground-browser.test.ts
 * checks at type level that what the server returns fits these shapes, so a change on either
 * side fails `npm run typecheck`.
 */

export interface PlaygroundState {
  course: { name: string; botName: string; timezone: string };
  ready: boolean;
  clock: { now: number; offsetMs: number | null; canAdvance: boolean };
  queue: { pending: number; nextJobAt: number | null };
  stages: { id: string; phase: string | null }[];
  /** The course's rules with their descriptions (the 为什么 panel names a rule by its description). */
  rules: { id: string; description: string }[];
  groups: PlaygroundGroup[];
  users: PlaygroundUser[];
  /** Lines per chat: `group:<handle>` or `dm:<user id>`. */
  chats: Record<string, ChatLine[]>;
}

export interface PlaygroundGroup {
  handle: string;
  name: string;
  kind: string;
  roomId: string;
  members: string[];
}

export interface PlaygroundUser {
  id: string;
  name: string;
  role: string;
  member: { memberId: string; stage: string; stageSince: number } | null;
  tags: string[];
  friend: boolean;
  waiting: number;
  requested: boolean;
}

export interface ChatLine {
  n: number;
  kind: 'bot' | 'member' | 'joined' | 'left' | 'friend_request' | 'friend_accepted';
  userId: string | null;
  name: string;
  text: string;
  at: number;
}

export interface MemberDetail {
  member: { id: string; displayName: string; stage: string; stageSince: number; lastSeenAt: number };
  tags: string[];
  groups: string[];
  channel: {
    channels: { platform: string; state: 'open' | 'closed' | 'blocked' | null; how: string | null; openedAt: number | null }[];
    held: { id: number; text: string; state: 'held' | 'delivered' | 'expired' | 'dropped'; ruleId: string | null; expiresAt: number; doneAt: number | null }[];
    sequences: { sequence: string; state: 'waiting' | 'started' | 'expired' | 'cancelled' }[];
  };
  stageHistory: { from: string | null; to: string; ruleId: string | null; actor: string; at: number }[];
  traces: Trace[];
}

/** One rule's outcome for one event or job (src/store/traces.ts), as `kequn why` shows it. */
export interface Trace {
  id: number;
  at: number;
  ruleId: string;
  matched: boolean;
  eventId: number | null;
  jobId: number | null;
  eventType: string | null;
  trigger: string | null;
  conditions: unknown[];
  actions: unknown[];
}

/** A condition in a trace: the rule's label for it, the value the fact had, whether it held. */
export interface TraceCondition {
  condition: string;
  actual: unknown;
  ok: boolean;
}
