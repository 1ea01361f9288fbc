/**
 * Every word the dashboard, its CSV files and `kequn stats` show, in the course's language
 * (`course.locale` in kequn.yaml: zh by default, en as an option). Figures never depend on it.
 * Keys the seller chose (stage ids, group handles, acquisition tags) are shown as they are,
 * except the demo's stage ids, which get their usual Chinese names.
 */
export type Locale = 'zh' | 'en';

export interface DashboardText {
  /** the name of the course's default stage ids; any other id is shown as written */
  stages: Record<string, string>;
  sources: { referral: string; direct: string; channel: (tag: string) => string; none: string; untagged: string };
  discountKinds: Record<string, string>;
  total: string;
  tables: {
    funnel: { title: string; columns: string[] };
    revenue: {
      title: string;
      reached: (stage: string) => string;
      paid: string;
      rate: string;
      orders: string;
      gross: string;
      refunded: string;
      refunds: string;
      net: string;
      average: string;
      staffOrders: string;
      staffNet: string;
      starsOrders: string;
      starsNet: string;
      columns: string[];
    };
    discounts: { title: string; columns: string[] };
    retention: { title: string; joinWeek: string; members: string; week: (k: number) => string };
    checkins: { title: string; day: string; checkins: (g: string) => string; members: (g: string) => string; rate: (g: string) => string };
    streaks: { title: string; columns: string[] };
    homework: { title: string; columns: string[] };
    referrers: { title: string; columns: string[] };
    sources: { title: string; columns: string[] };
    groups: { title: string; columns: string[] };
    qa: { title: string; columns: string[]; asked: string; bot: string; faq: string; llm: string; escalated: string; resolved: string; median: string };
    channelFunnel: { title: string; columns: string[]; steps: Record<'joined' | 'channel_opened' | 'lesson_delivered' | 'first_question' | 'paid', string> };
    channelPlatforms: { title: string; columns: string[]; platforms: Record<string, string> };
    channelSources: { title: string; columns: string[] };
    channelLessons: { title: string; columns: string[] };
    channelHeld: {
      title: string;
      columns: string[];
      waiting: string;
      delivered: string;
      expired: string;
      dropped: string;
      sequencesStarted: string;
      sequencesWaiting: string;
      sequencesExpired: string;
    };
  };
  filterErrors: { badDate: (key: string, value: string) => string; unknownGroup: (group: string, groups: string) => string; order: string };
  /** What the page's script shows (sent to it as JSON). */
  page: PageText;
  login: { title: string; heading: string; tokenLabel: string; button: string; hint: string; wrongToken: string; linkInvalid: string; noToken: string };
  api: { logIn: string; noTable: (file: string) => string; sendJson: string; badJson: string; badSource: string; unknownGroup: (g: string) => string; badYuan: string };
  /** What `kequn start` prints about the dashboard (its address, how to log in). */
  start: { link: (hours: number) => string; token: string; owner: string };
}

export interface PageText {
  title: string;
  heading: (course: string) => string;
  group: string;
  allGroups: string;
  from: string;
  to: string;
  apply: string;
  logout: string;
  loading: string;
  csv: string;
  noData: string;
  error: string;
  /** status line: cohort size, staff left out, when (local time in the course zone, and the zone) */
  status: (cohort: number, staff: number, group: string | null, local: string, zone: string) => string;
  sections: Record<string, string>;
  cost: { label: string; yuan: string; placeholder: string; save: string; saved: string };
  charts: {
    members: string;
    through: string;
    reached: string;
    now: string;
    weeksAfter: string;
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

const zhPage: PageText = {
  title: '数据看板',
  heading: (course) => `${course} · 数据看板`,
  group: '群',
  allGroups: '全部群',
  from: '从',
  to: '到',
  apply: '筛选',
  logout: '退出登录',
  loading: '加载中…',
  csv: '下载 CSV',
  noData: '暂无数据',
  error: '出错了：',
  status: (cohort, staff, group, local, zone) => `学员队列：${cohort} 人${group ? `（${group}）` : ''}，不含员工${staff > 0 ? ` ${staff} 人` : ''}。更新于 ${local}（${zone}）。`,
  sections: {
    'channel-funnel': '私信渠道漏斗',
    'channel-platforms': '加好友率 / Start 率',
    'channel-held': '等待私信渠道的消息',
    'channel-lessons': '私信送达的试听课',
    'channel-sources': '按来源打开的私信渠道',
    funnel: '生命周期漏斗',
    revenue: '试听转付费与收入',
    discounts: '优惠',
    retention: '周留存',
    checkins: '每日打卡率',
    streaks: '连续打卡',
    homework: '作业提交',
    referrers: '推荐人排行',
    sources: '按来源的收入与 ROI',
    groups: '按首个入群的收入与 ROI',
    qa: '答疑',
  },
  cost: { label: '来源成本', yuan: '元', placeholder: '留空则删除', save: '保存成本', saved: '已保存' },
  charts: {
    members: '人数',
    through: '逐步走完',
    reached: '到达',
    now: '当前',
    weeksAfter: '入群后第几周',
    week: '第 {k} 周',
    activePct: '活跃 %',
    day: '日期',
    checkinPct: '打卡率 %',
    daysInRow: '连续天数',
    stage: '阶段',
    step: '步骤',
    steps: { joined: '入群', channel_opened: '加好友/Start', lesson_delivered: '试听课送达', first_question: '首次提问', paid: '付费' },
    source: '来源',
    revenue: '收入',
    cost: '成本',
    yuan: '元',
  },
};

const enPage: PageText = {
  title: 'Dashboard',
  heading: (course) => `${course} · dashboard`,
  group: 'Group',
  allGroups: 'all groups',
  from: 'From',
  to: 'To',
  apply: 'Apply',
  logout: 'Log out',
  loading: 'Loading…',
  csv: 'CSV',
  noData: 'no data',
  error: 'Error: ',
  status: (cohort, staff, group, local, zone) => `Cohort: ${cohort} members${group ? ` in ${group}` : ''}, staff left out${staff > 0 ? ` (${staff})` : ''}. Updated ${local} (${zone}).`,
  sections: {
    'channel-funnel': 'Private channel funnel',
    'channel-platforms': 'Friend / Start rate',
    'channel-held': 'Held private messages',
    'channel-lessons': 'Trial lessons delivered',
    'channel-sources': 'Channels opened by source',
    funnel: 'Funnel by lifecycle stage',
    revenue: 'Trial → paid and revenue',
    discounts: 'Discounts given',
    retention: 'Weekly retention by join week',
    checkins: 'Daily check-in rate',
    streaks: 'Check-in streaks',
    homework: 'Homework submissions',
    referrers: 'Referrers',
    sources: 'Revenue and ROI by source',
    groups: 'Revenue and ROI by first group',
    qa: 'Q&A',
  },
  cost: { label: 'Cost of source', yuan: 'yuan', placeholder: 'empty: remove', save: 'Save cost', saved: 'saved' },
  charts: {
    members: 'members',
    through: 'through every step',
    reached: 'reached',
    now: 'now',
    weeksAfter: 'weeks after joining',
    week: 'week {k}',
    activePct: '% active',
    day: 'day',
    checkinPct: '% checked in',
    daysInRow: 'days in a row',
    stage: 'stage',
    step: 'step',
    steps: { joined: 'joined', channel_opened: 'channel opened', lesson_delivered: 'lesson delivered', first_question: 'first question', paid: 'paid' },
    source: 'source',
    revenue: 'revenue',
    cost: 'cost',
    yuan: 'yuan',
  },
};

const zh: DashboardText = {
  stages: { prospect: '潜在学员', trial: '试听', nurture: '培养', paid: '已付费', mature: '成熟', loyal: '忠诚', churned: '流失' },
  sources: { referral: '转介绍', direct: '直接', channel: (tag) => `渠道 ${tag}`, none: '（未入群）', untagged: '（无来源标签）' },
  discountKinds: { coupon: '优惠券', referral: '推荐优惠', loyalty: '老学员优惠', upgrade: '升级补差价' },
  total: '合计',
  tables: {
    funnel: { title: '生命周期漏斗', columns: ['阶段', '时期', '到达', '进入过', '当前', '转化率 %', '停留时长中位数（小时）', '已结束的停留', '仍在此阶段'] },
    revenue: {
      title: '试听转付费与收入（元）',
      reached: (stage) => `到达「${stage}」的学员`,
      paid: '其中已付费',
      rate: '试听→付费 %',
      orders: '已支付订单',
      gross: '收款',
      refunded: '退款',
      refunds: '有退款的订单',
      net: '收入（收款 − 退款）',
      average: '客单价',
      staffOrders: '其中员工下的订单',
      staffNet: '其中员工订单收入',
      starsOrders: 'Telegram Stars 订单',
      starsNet: 'Telegram Stars 净额（Stars）',
      columns: ['指标', '数值'],
    },
    discounts: { title: '优惠（元）', columns: ['类型', '订单数', '金额（元）'] },
    retention: { title: '按入群周的周留存（活跃 %）', joinWeek: '入群周（周一）', members: '人数', week: (k) => `第 ${k} 周` },
    checkins: { title: '各群每日打卡率', day: '日期', checkins: (g) => `${g} 打卡`, members: (g) => `${g} 成员`, rate: (g) => `${g} 打卡率 %` },
    streaks: { title: '区间内最长连续打卡', columns: ['连续天数', '人数'] },
    homework: { title: '作业提交', columns: ['周', '题目', '已提交', '其中迟交', '成员', '提交率 %'] },
    referrers: { title: '推荐人排行', columns: ['推荐人', '昵称', '推荐人数', '其中已付费', '奖励（元）'] },
    sources: { title: '按来源的收入与 ROI（元）', columns: ['来源', '订单数', '收入', '成本', 'ROI %'] },
    groups: { title: '按首个入群的收入与 ROI（元）', columns: ['群', '订单数', '收入', '成本', 'ROI %'] },
    qa: {
      title: '答疑',
      columns: ['指标', '数值'],
      asked: '提问',
      bot: '机器人回答',
      faq: '  其中来自 FAQ',
      llm: '  其中由大模型',
      escalated: '转给老师',
      resolved: '  其中老师已回答',
      median: '老师回答用时中位数（小时）',
    },
    channelFunnel: {
      title: '私信渠道漏斗（入群 → 私信渠道打开 → 试听课送达 → 首次提问 → 付费）',
      columns: ['步骤', '人数', '占入群 %', '逐步走完', '步骤转化率 %'],
      steps: { joined: '入群', channel_opened: '私信渠道打开（加好友 / Start）', lesson_delivered: '试听课已私信送达', first_question: '首次提问', paid: '付费' },
    },
    channelPlatforms: {
      title: '按平台的加好友率 / Start 率',
      columns: ['平台', '入群', '私信渠道打开', '比率 %', '试听课已送达'],
      platforms: { wechat: '微信：加好友率', telegram: 'Telegram：Start 率' },
    },
    channelSources: { title: '按来源打开的私信渠道（Telegram start=src-…）', columns: ['来源', '打开', '其中付费'] },
    channelLessons: { title: '私信送达的试听课', columns: ['课次', '人数'] },
    channelHeld: {
      title: '等待私信渠道的消息（区间内暂存的）',
      columns: ['指标', '数值'],
      waiting: '仍在等待',
      delivered: '渠道打开后已送达',
      expired: '过期（渠道一直没打开）',
      dropped: '丢弃（对方屏蔽了机器人）',
      sequencesStarted: '渠道打开后开始的课程序列',
      sequencesWaiting: '仍在等待的课程序列',
      sequencesExpired: '过期的课程序列',
    },
  },
  filterErrors: {
    badDate: (key, value) => `--${key} 必须是日期（YYYY-MM-DD）或 ISO 时间，收到 "${value}"`,
    unknownGroup: (group, groups) => `没有这个群 "${group}"（群：${groups}）`,
    order: '--from 必须早于 --to',
  },
  page: zhPage,
  login: {
    title: '登录数据看板',
    heading: '数据看板',
    tokenLabel: '管理员令牌（KEQUN_ADMIN_TOKEN）',
    button: '登录',
    hint: '店主：在私聊里给机器人发 <code>/dashboard</code>，会收到一个一次性登录链接。',
    wrongToken: '管理员令牌不对',
    linkInvalid: '这个登录链接无效、已用过或已过期。请在私聊里再发一次 /dashboard。',
    noToken: '没有设置 KEQUN_ADMIN_TOKEN（至少 16 个字符）：请用机器人发的链接登录（私聊里发 /dashboard）。',
  },
  api: {
    logIn: '请先登录：打开 /dashboard（KEQUN_ADMIN_TOKEN，或机器人发的登录链接）',
    noTable: (file) => `没有这张表：${file}`,
    sendJson: '请发送 JSON',
    badJson: '请求体不是合法的 JSON',
    badSource: '来源必须是 referral、direct、channel:<标签> 或 group:<群代号>',
    unknownGroup: (g) => `没有这个群 "${g}"`,
    badYuan: '金额必须是普通的十进制元数，最多两位小数，例如 500 或 12.50',
  },
  start: {
    link: (hours) => `登录：在浏览器打开下面的一次性链接（${hours} 小时内有效；重启会给新的）`,
    token: '登录：输入 KEQUN_ADMIN_TOKEN 的值',
    owner: '登录：店主在私聊里给机器人发 /dashboard，会收到一次性登录链接',
  },
};

const en: DashboardText = {
  stages: {},
  sources: { referral: 'referral', direct: 'direct', channel: (tag) => `channel ${tag}`, none: '(no group)', untagged: '(none)' },
  discountKinds: {},
  total: 'total',
  tables: {
    funnel: { title: 'Funnel by lifecycle stage', columns: ['stage', 'phase', 'reached', 'entered', 'now', 'conversion %', 'median hours in stage', 'finished stays', 'still in stage'] },
    revenue: {
      title: 'Trial → paid and revenue (yuan)',
      reached: (stage) => `reached ${stage}`,
      paid: 'of whom paid',
      rate: 'trial → paid %',
      orders: 'paid orders',
      gross: 'gross',
      refunded: 'refunded',
      refunds: 'refunded orders',
      net: 'revenue (paid − refunded)',
      average: 'average order value',
      staffOrders: 'of which orders by staff',
      staffNet: 'of which revenue from staff orders',
      starsOrders: 'Stars orders',
      starsNet: 'Stars net',
      columns: ['figure', 'value'],
    },
    discounts: { title: 'Discounts given (yuan)', columns: ['kind', 'orders', 'yuan'] },
    retention: { title: 'Weekly retention by join week (% active)', joinWeek: 'join week', members: 'members', week: (k) => `week ${k}` },
    checkins: { title: 'Daily check-in rate per group (%)', day: 'day', checkins: (g) => `${g} check-ins`, members: (g) => `${g} members`, rate: (g) => `${g} %` },
    streaks: { title: 'Longest check-in streak in the range', columns: ['days in a row', 'members'] },
    homework: { title: 'Homework submissions', columns: ['week', 'title', 'submitted', 'late', 'members', 'submission %'] },
    referrers: { title: 'Referrers', columns: ['referrer', 'name', 'referred', 'paid', 'rewards (yuan)'] },
    sources: { title: 'Revenue and ROI by source (yuan)', columns: ['source', 'orders', 'revenue', 'cost', 'ROI %'] },
    groups: { title: 'Revenue and ROI by first group (yuan)', columns: ['group', 'orders', 'revenue', 'cost', 'ROI %'] },
    qa: {
      title: 'Q&A',
      columns: ['figure', 'value'],
      asked: 'asked',
      bot: 'answered by the bot',
      faq: '  from the FAQ',
      llm: '  by the LLM',
      escalated: 'escalated',
      resolved: '  answered by an instructor',
      median: 'median hours to an instructor answer',
    },
    channelFunnel: {
      title: 'Private channel funnel (joined → channel opened → trial lesson delivered → first question → paid)',
      columns: ['step', 'members', '% of joined', 'through every step so far', 'step conversion %'],
      steps: { joined: 'joined', channel_opened: 'private channel opened (friend / Start)', lesson_delivered: 'trial lesson delivered privately', first_question: 'first question', paid: 'paid' },
    },
    channelPlatforms: {
      title: 'Friend / Start rate by platform',
      columns: ['platform', 'joined', 'channel opened', 'rate %', 'trial lesson delivered'],
      platforms: { wechat: 'WeChat: friend rate', telegram: 'Telegram: Start rate' },
    },
    channelSources: { title: 'Channels opened by source (Telegram start=src-…)', columns: ['source', 'channels opened', 'of whom paid'] },
    channelLessons: { title: 'Trial lessons delivered privately', columns: ['lesson', 'members'] },
    channelHeld: {
      title: 'Held private messages (held in the range)',
      columns: ['figure', 'value'],
      waiting: 'waiting for the channel',
      delivered: 'delivered when it opened',
      expired: 'expired (never opened)',
      dropped: 'dropped (blocked the bot)',
      sequencesStarted: 'sequences started when it opened',
      sequencesWaiting: 'sequences still waiting',
      sequencesExpired: 'sequences expired',
    },
  },
  filterErrors: {
    badDate: (key, value) => `--${key} must be a date (YYYY-MM-DD) or an ISO time, got "${value}"`,
    unknownGroup: (group, groups) => `unknown group "${group}" (groups: ${groups})`,
    order: '--from must be before --to',
  },
  page: enPage,
  login: {
    title: 'Dashboard: log in',
    heading: 'Dashboard',
    tokenLabel: 'Admin token (KEQUN_ADMIN_TOKEN)',
    button: 'Log in',
    hint: 'Owners: send <code>/dashboard</code> to the bot in a private chat for a one-time login link.',
    wrongToken: 'wrong admin token',
    linkInvalid: 'This login link is invalid, used or expired. Send /dashboard to the bot again in a private chat.',
    noToken: 'KEQUN_ADMIN_TOKEN is not set (16+ characters): log in with a link from the bot (/dashboard in a private chat).',
  },
  api: {
    logIn: 'log in first: /dashboard (KEQUN_ADMIN_TOKEN, or a link from the bot)',
    noTable: (file) => `no such table: ${file}`,
    sendJson: 'send JSON',
    badJson: 'body is not valid JSON',
    badSource: 'source must be referral, direct, channel:<tag> or group:<handle>',
    unknownGroup: (g) => `unknown group "${g}"`,
    badYuan: 'yuan must be a plain decimal amount of yuan with at most 2 decimals, such as 500 or 12.50',
  },
  start: {
    link: (hours) => `log in: open this one-time link (valid ${hours} hours; a restart prints a new one)`,
    token: 'log in: with the value of KEQUN_ADMIN_TOKEN',
    owner: 'log in: an owner sends /dashboard to the bot in a private chat for a one-time link',
  },
};

const TEXTS: Record<Locale, DashboardText> = { zh, en };

/** The words for a course's locale (zh when none is given). */
export function dashboardText(locale: Locale | undefined): DashboardText {
  return TEXTS[locale ?? 'zh'];
}

/** How a stage id reads: the demo's ids by name (zh), any other as written. */
export function stageName(t: DashboardText, id: string): string {
  return t.stages[id] ?? id;
}

/** The page script's words as plain JSON (the script is a static file; the words follow the course). */
export function pageTextJson(t: PageText): Omit<PageText, 'heading' | 'status'> {
  const { heading: _heading, status: _status, ...rest } = t;
  return rest;
}
