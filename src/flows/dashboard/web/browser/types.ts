/**
 * What the dashboard page's script reads: the JSON of /dashboard/api/stats (pageData in
 * ../dashboard.ts: the figures of metrics.ts, their tables and the words beside them) and the
 * page's own words in the body's data-text attribute (pageTextJson in ../../i18n.ts). Only what
 * the script uses. test/unit/browser-assets.test.ts checks at type level that the server's fit.
 */

export interface StatsTable {
  id: string;
  columns: string[];
  rows: (string | number | null)[][];
}

export interface DashboardStats {
  tables: StatsTable[];
  /** "学员队列：3 人，不含员工 2 人。更新于 …": written by the server in the course's locale and zone */
  statusLine: string;
  /** stage id → its name in the course's locale */
  stageNames: Record<string, string>;
  /** group handle → name */
  groupNames: Record<string, string>;
  /** source (referral, direct, channel:<tag>, group:<handle>) → its label */
  sourceLabels: Record<string, string>;
  /** the sources a cost can be entered for, in the order of the cost form's list */
  costSources: { source: string; label: string }[];
  channel: { steps: { step: string; label: string; members: number; through: number }[] };
  funnel: { stages: { stage: string; reached: number; now: number }[] };
  retention: { week: string; rates: number[] }[];
  checkins: { days: string[]; groups: { group: string; days: { rate: number | null }[] }[]; streaks: { bucket: string; members: number }[] };
  referrals: {
    /** revenue by source: referral, channel:<tag>, direct */
    sources: SourceRevenue[];
    /** revenue by the member's first group (group:<handle>) */
    groups: SourceRevenue[];
  };
}

export interface SourceRevenue {
  source: string;
  /** yuan */
  revenue: number;
  /** yuan, or null when no cost was entered */
  cost: number | null;
}

/** The script's own words (chart legends, "no data", errors) in the course's locale. */
export interface PageWords {
  noData: string;
  /** put before an error's message */
  error: string;
  cost: { saved: string };
  charts: {
    members: string;
    through: string;
    reached: string;
    now: string;
    weeksAfter: string;
    /** "第 {k} 周": {k} is the week's number after joining */
    week: string;
    activePct: string;
    day: string;
    checkinPct: string;
    daysInRow: string;
    stage: string;
    step: string;
    /** the private channel funnel's steps, short enough for an axis */
    steps: Record<string, string>;
    source: string;
    revenue: string;
    cost: string;
    yuan: string;
  };
}
