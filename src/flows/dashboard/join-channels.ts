import { joinChannelCounts, joinChannelViews } from './store/join-channels.js';
import { staffMemberIds } from './store/staff.js';
import type { StatsContext, StatsFilter } from './stats-context.js';
import type { StatsTable } from './stats-table.js';

const yuan = (fen: number) => Math.round(fen) / 100;

/**
 * The join page's channels on the dashboard (docs/join.md): each channel of `join.channels` (and
 * any tag credited before it left the config) with its page views, members who joined through it
 * in the range, of them who paid, the conversion (paid / joined), their net revenue, the spend the
 * config gives (`spend_fen`) and ROI = (revenue − spend) / spend. Staff are left out.
 */
export interface JoinChannelRow {
  channel: string;
  name: string;
  views: number;
  joined: number;
  paid: number;
  /** paid / joined */
  conversion: number | null;
  /** yuan */
  revenue: number;
  /** yuan, from the config; null: not given */
  spend: number | null;
  roi: number | null;
}

export function joinChannels(ctx: StatsContext, f: StatsFilter = {}): JoinChannelRow[] {
  const channels = ctx.config.join?.channels ?? {};
  const s = { from: f.from ?? 0, to: f.to ?? ctx.now + 1, group: f.group ?? null, cohort: f.cohort ?? null, staff: staffMemberIds(ctx.db, ctx.config.staff) };
  const counts = new Map(joinChannelCounts(ctx.db, s).map((r) => [r.channel, r]));
  const views = new Map(joinChannelViews(ctx.db, s).map((r) => [r.channel, r.views]));
  const tags = [...new Set([...Object.keys(channels), ...counts.keys(), ...views.keys()])].sort();
  return tags.map((channel) => {
    const c = counts.get(channel) ?? { joined: 0, paid: 0, net: 0 };
    const spendFen = Object.hasOwn(channels, channel) ? channels[channel]!.spendFen : undefined;
    return {
      channel,
      name: Object.hasOwn(channels, channel) ? channels[channel]!.name : channel,
      views: views.get(channel) ?? 0,
      joined: c.joined,
      paid: c.paid,
      conversion: c.joined > 0 ? c.paid / c.joined : null,
      revenue: yuan(c.net),
      spend: spendFen === undefined ? null : yuan(spendFen),
      roi: spendFen ? (c.net - spendFen) / spendFen : null,
    };
  });
}

const WORDS = {
  zh: { title: '入群渠道（群活码）', columns: ['渠道', '浏览', '入群', '已付费', '转化率 %', '收入（元）', '投入（元）', 'ROI %'] },
  en: { title: 'Join channels (join page)', columns: ['channel', 'views', 'joined', 'paid', 'conversion %', 'revenue (yuan)', 'spend (yuan)', 'ROI %'] },
};

const pct = (r: number | null) => (r === null ? null : Math.round(r * 1000) / 10);

export function joinChannelTable(rows: JoinChannelRow[], locale: string): StatsTable {
  const w = locale === 'en' ? WORDS.en : WORDS.zh;
  return {
    id: 'join-channels',
    title: w.title,
    columns: w.columns,
    rows: rows.map((r) => [`${r.name}（${r.channel}）`, r.views, r.joined, r.paid, pct(r.conversion), r.revenue, r.spend, pct(r.roi)]),
  };
}
