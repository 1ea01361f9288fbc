import type { ChannelFunnel } from './channel-funnel.js';
import type { StatsTable } from './stats-table.js';

const pct = (r: number | null) => (r === null ? null : Math.round(r * 1000) / 10);

/** The private-channel funnel as tables (the page, `kequn stats`, CSV): see channel-funnel.ts. */
export function channelTables(c: ChannelFunnel): StatsTable[] {
  return [
    {
      id: 'channel-funnel',
      title: '私信渠道漏斗 Private channel funnel (joined → channel opened → trial lesson delivered → first question → paid)',
      columns: ['step', 'members', '% of joined', 'through every step so far', 'step conversion %'],
      rows: c.steps.map((s) => [s.label, s.members, pct(s.ofJoined), s.through, pct(s.conversion)]),
    },
    {
      id: 'channel-platforms',
      title: '加好友率 / Start 率 by platform',
      columns: ['platform', 'joined', 'channel opened', 'rate %', 'trial lesson delivered'],
      rows: c.platforms.map((p) => [p.label, p.joined, p.opened, pct(p.rate), p.lesson]),
    },
    {
      id: 'channel-sources',
      title: 'Channels opened by source (Telegram start=src-…)',
      columns: ['source', 'channels opened', 'of whom paid'],
      rows: c.sources.map((s) => [s.source || '(none)', s.opened, s.paid]),
    },
    {
      id: 'channel-lessons',
      title: 'Trial lessons delivered privately',
      columns: ['lesson', 'members'],
      rows: c.lessons.map((l) => [l.lesson, l.members]),
    },
    {
      id: 'channel-held',
      title: 'Held private messages (held in the range)',
      columns: ['figure', 'value'],
      rows: [
        ['waiting for the channel', c.held.waiting],
        ['delivered when it opened', c.held.delivered],
        ['expired (never opened)', c.held.expired],
        ['dropped (blocked the bot)', c.held.dropped],
        ['sequences started when it opened', c.held.sequencesStarted],
        ['sequences still waiting', c.held.sequencesWaiting],
        ['sequences expired', c.held.sequencesExpired],
      ],
    },
  ];
}
