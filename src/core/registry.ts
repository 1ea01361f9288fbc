import type { ActionSpec, CommandSpec, FactSpec, Flow, JobHandler } from './types.js';
import { eventFlow } from './builtins/event.js';
import { lifecycleFlow } from '../flows/lifecycle/index.js';
import { messagingFlow } from './builtins/messaging.js';
import { trialFlow } from '../flows/trial/index.js';
import { timersFlow } from './builtins/timers.js';
import { qaFlow } from '../flows/qa/index.js';
import { commandsFlow } from './builtins/help.js';
import { checkinFlow } from '../flows/checkin/index.js';
import { homeworkFlow } from '../flows/homework/index.js';
import { referralFlow } from '../flows/referral/index.js';
import { ordersFlow } from '../flows/orders/index.js';
import { staffFlow } from '../flows/staff/index.js';
import { announceFlow } from '../flows/announce/index.js';
import { moderationFlow } from '../flows/moderation/index.js';
import { dashboardFlow } from '../flows/dashboard/index.js';
import { noticesFlow } from './notices.js';
import { channelFlow } from './channel/expiry.js';

/** Every flow, in one list. Adding a flow: write its module, add it here, add its test. */
export const flows: Flow[] = [
  eventFlow,
  lifecycleFlow,
  messagingFlow,
  trialFlow,
  timersFlow,
  qaFlow,
  ordersFlow,
  commandsFlow(() => registry),
  referralFlow,
  checkinFlow,
  homeworkFlow,
  staffFlow,
  announceFlow,
  moderationFlow,
  dashboardFlow,
  noticesFlow,
  channelFlow,
];

export interface Registry {
  facts: Map<string, FactSpec>;
  actions: Map<string, ActionSpec<unknown>>;
  jobs: Map<string, JobHandler>;
  commands: Map<string, CommandSpec>;
}

export function buildRegistry(list: Flow[] = flows): Registry {
  const reg: Registry = { facts: new Map(), actions: new Map(), jobs: new Map(), commands: new Map() };
  for (const flow of list) {
    for (const f of flow.facts ?? []) add(reg.facts, f.name, f, flow.name);
    for (const a of flow.actions ?? []) add(reg.actions, a.name, a as ActionSpec<unknown>, flow.name);
    for (const j of flow.jobs ?? []) add(reg.jobs, j.kind, j, flow.name);
    for (const c of flow.commands ?? []) add(reg.commands, c.name, c, flow.name);
  }
  return reg;
}

function add<T>(map: Map<string, T>, key: string, value: T, flow: string): void {
  if (map.has(key)) throw new Error(`flow ${flow}: "${key}" is already registered by another flow`);
  map.set(key, value);
}

export const registry = buildRegistry();
