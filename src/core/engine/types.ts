import type { Logger } from 'pino';
import type { Platform } from '../../bot/events.js';
import type { Db } from '../../store/db.js';
import type { Registry } from '../registry.js';
import type { CourseConfig, Services, Trigger, TriggerType } from '../types.js';

/**
 * An event a feature emits about a member (src/core/engine/member-events.ts): its type, the
 * key that makes a redelivery a duplicate, the member and their platform chat, and what the
 * trigger carries besides (the order of `order.paid`).
 */
export interface MemberEvent {
  type: TriggerType;
  dedupeKey: string;
  memberId: string;
  platform: Platform;
  platformId: string;
  fields?: Partial<Trigger>;
}

export interface HandleResult {
  status: 'handled' | 'duplicate' | 'ignored';
  reason?: string;
  eventRowId?: number;
  memberId?: string;
  /** The event made its member: someone kequn had not met (the import's first sight of a speaker). */
  newMember?: boolean;
  fired: string[];
  messages: number;
  /** For a room invitation: whether it is to be accepted (the kernel does it once this commits). */
  accept?: boolean;
}

export interface EngineDeps {
  db: Db;
  config: () => CourseConfig;
  registry: Registry;
  log: Logger;
  services: () => Services;
  /** Random delays (friend-request acceptances); seeded in tests. */
  random?: () => number;
}

/** What running rules (or a command) did: the rules that fired and the messages they queued. */
export interface Fired {
  fired: string[];
  messages: number;
}

/** Rule types the actions asked to run next (`on: checkin`), with the template variables they carry. */
export type FollowUps = Map<Trigger['type'], Record<string, string>>;
