import type { Feature } from '../feature.js';
import type { CommandSpec } from '../types.js';
import { channelFlow } from '../channel/expiry.js';
import { noticesFlow } from '../notices.js';
import { eventFlow } from './event.js';
import { commandsFlow } from './help.js';
import { messagingFlow } from './messaging.js';
import { timersFlow } from './timers.js';

/**
 * What every course has, whatever features it composes: the facts of the event itself (text,
 * group, role…), `reply`/`dm`, scheduled `on: timer` rules, `/help` and `/whoami`, merged notices
 * and the private channel's expiry and facts. Registered before the features.
 */
export function coreFeatures(commands: () => Iterable<CommandSpec>): Feature[] {
  return [eventFlow, messagingFlow, timersFlow, commandsFlow(commands), noticesFlow, channelFlow];
}
