import type { ChannelFunnel } from './channel-funnel.js';
import type { DashboardText } from './i18n.js';
import type { StatsTable } from './stats-table.js';

const pct = (r: number | null) => (r === null ? null : Math.round(r * 1000) / 10);

/** The private-channel funnel as tables (the page, `kequn stats`, CSV): see channel-funnel.ts. */
export function channelTables(c: ChannelFunnel, t: DashboardText): StatsTable[] {
  const tt = t.tables;
  const h = tt.channelHeld;
  return [
    {
      id: 'channel-funnel',
      title: tt.channelFunnel.title,
      columns: tt.channelFunnel.columns,
      rows: c.steps.map((s) => [tt.channelFunnel.steps[s.step], s.members, pct(s.ofJoined), s.through, pct(s.conversion)]),
    },
    {
      id: 'channel-platforms',
      title: tt.channelPlatforms.title,
      columns: tt.channelPlatforms.columns,
      rows: c.platforms.map((p) => [tt.channelPlatforms.platforms[p.platform] ?? p.platform, p.joined, p.opened, pct(p.rate), p.lesson]),
    },
    {
      id: 'channel-sources',
      title: tt.channelSources.title,
      columns: tt.channelSources.columns,
      rows: c.sources.map((s) => [s.source || t.sources.untagged, s.opened, s.paid]),
    },
    {
      id: 'channel-lessons',
      title: tt.channelLessons.title,
      columns: tt.channelLessons.columns,
      rows: c.lessons.map((l) => [l.lesson, l.members]),
    },
    {
      id: 'channel-held',
      title: h.title,
      columns: h.columns,
      rows: [
        [h.waiting, c.held.waiting],
        [h.delivered, c.held.delivered],
        [h.expired, c.held.expired],
        [h.dropped, c.held.dropped],
        [h.sequencesStarted, c.held.sequencesStarted],
        [h.sequencesWaiting, c.held.sequencesWaiting],
        [h.sequencesExpired, c.held.sequencesExpired],
      ],
    },
  ];
}
