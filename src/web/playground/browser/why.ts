/**
 * The 为什么 panel in Chinese. The rule traces are recorded as `kequn why` prints them (fact
 * names, operators and action notes in English, which operators grep for); the seller reading the
 * playground gets them in words: each rule by its description from rules.yaml, conditions as
 * sentences, the actions' notes by the table below. A note the table does not know is shown as
 * it was recorded rather than dropped.
 */
import type { Trace, TraceCondition } from './types.js';

export const ROLE: Record<string, string> = { owner: '群主', instructor: '讲师', assistant: '助教', member: '学员' };

/** How a private channel opened or closed (src/store/private-channels.ts ChannelHow). */
export const CHANNEL_HOW: Record<string, string> = {
  friend_request: '通过了 TA 的好友申请',
  friend_confirmed: '在手机上加了好友',
  already_friend: '本来就是好友',
  start: '在 Telegram 点了 Start',
  wrote_privately: 'TA 私信了机器人',
  delivered: '私信送达',
  unblocked: '解除了拉黑',
  not_friend: '还不是机器人微信号的好友',
  not_started: '还没在 Telegram 点 Start',
  blocked: '把机器人拉黑了',
};

const EVENT: Record<string, string> = {
  'member.joined': '入群',
  'member.left': '退群',
  message: '发消息',
  command: '命令',
  timer: '定时任务',
  checkin: '打卡',
  'order.paid': '支付成功',
  'order.refunded': '退款',
  'channel.opened': '私信渠道打开',
  'channel.closed': '私信渠道关闭',
};

const JOB: Record<string, string> = {
  'checkin.reminder': '打卡提醒',
  'checkin.nudge': '打卡督促',
  'homework.open': '发布作业',
  'homework.remind': '作业提醒',
  'announce.send': '群发公告',
  'announce.watch': '群发进度',
  'notices.flush': '合并通知',
  'channel.expire': '检查等待过期的私信',
  inactivity: '沉默检查',
  rule: '定时规则',
};

/** Facts of the built-in features by what they mean; a fact not listed keeps its name from rules.yaml. */
const FACT: Record<string, string> = {
  stage: '阶段',
  group: '群',
  'group.kind': '群类型',
  role: '角色',
  text: '消息',
  is_dm: '私聊消息',
  is_question: '像是提问',
  mentions_bot: '@了机器人',
  questions_asked: '已提问次数',
  active_groups: '所在课程群数',
  tags: '标签',
  spam: '广告或刷屏',
  removed_for_spam: '因广告或刷屏被移出',
  referral_code: '推荐码',
  invited: '被成员拉进群',
  invite_link: '专属入群链接',
  quotes_question: '引用了转来的问题',
  'checkin.streak': '连续打卡天数',
  'channel.how': '私信渠道打开方式',
  'channel.again': '再次打开私信渠道',
  'channel.open': '私信渠道已打开',
  'channel.source': '私信渠道来源',
};

const REFERRAL_REFUSED: Record<string, string> = {
  unknown_code: '没有这个推荐码',
  self_referral: '不能推荐自己',
  circular: '互相推荐',
  already_referred: '已经有推荐人',
  already_referred_same: '已经登记过这个推荐人',
  already_paid: '已经报名过',
  referrer_is_staff: '推荐人是老师或助教',
  rate_limited: '尝试太频繁',
  expired: '超过了推荐有效期',
};

const NOT_SOLD: Record<string, string> = {
  unknown_product: '课程不存在',
  not_on_sale: '不在售卖时间内',
  sold_out: '名额已满',
  already_paid: '已经买过',
  no_stars_price: '不支持在 Telegram 购买',
};

const PROVIDER: Record<string, string> = { sandbox: '沙盒', wechatpay: '微信支付', stars: 'Telegram Stars' };
const MODERATION: Record<string, string> = { link: '链接', keyword: '关键词', contact: '联系方式', repeat: '重复刷屏', flood: '刷屏' };

/** 30d → 30 天, 3h5m → 3 小时 5 分 (kequn's compact durations, src/util/duration.ts). */
export function durationZh(s: string): string {
  if (!/^(\d+(ms|d|h|m|s))+$/.test(s)) return s;
  const unit: Record<string, string> = { d: ' 天', h: ' 小时', m: ' 分', s: ' 秒', ms: ' 毫秒' };
  return [...s.matchAll(/(\d+)(ms|d|h|m|s)/g)].map((m) => `${m[1]}${unit[m[2]!]}`).join(' ');
}

/** What happened, for the head of a group of traces: 「入群」, 「定时任务：打卡提醒」. */
export function describeEvent(t: Trace): string {
  const job = /^job:(.+)$/.exec(t.ruleId);
  if (job) return `定时任务：${JOB[job[1]!] ?? job[1]}`;
  const type = t.eventType ?? t.trigger;
  if (type) return EVENT[type] ?? type;
  return t.jobId !== null ? '定时任务' : '事件';
}

/** A rule by its description from rules.yaml (the id beside it), or the built-in step a trace names. */
export function describeRule(ruleId: string, descriptions: ReadonlyMap<string, string>): { title: string; id: string | null } {
  const d = descriptions.get(ruleId);
  if (d) return { title: d, id: ruleId };
  let m: RegExpExecArray | null;
  if ((m = /^command:(\/\S+)$/.exec(ruleId))) return { title: `命令 ${m[1]}`, id: null };
  if ((m = /^job:(.+)$/.exec(ruleId))) return { title: `定时任务：${JOB[m[1]!] ?? m[1]}`, id: null };
  if ((m = /^group:paused$/.exec(ruleId))) return { title: '群已暂停', id: null };
  if (ruleId === 'channel') return { title: '私信渠道', id: null };
  if (ruleId === 'channel:expired') return { title: '私信渠道：等待过期', id: null };
  if (ruleId === 'lifecycle.on_paid' || ruleId === 'order.paid') return { title: '支付后的阶段变化', id: null };
  if (ruleId === 'lifecycle.on_refunded' || ruleId === 'order.refunded') return { title: '退款后的阶段变化', id: null };
  return { title: ruleId, id: null };
}

function factName(key: string): string {
  const ago = /^fired_ago\.(.+)$/.exec(key);
  if (ago) return `规则 ${ago[1]} 上次触发距今`;
  return FACT[key] ?? key;
}

/** The words for a value of a fact whose values are kequn's own (a role, how a channel opened). */
function enumText(key: string | undefined, v: string): string | undefined {
  if (key === 'role') return ROLE[v];
  if (key === 'channel.how') return CHANNEL_HOW[v];
  return undefined;
}

/** The fact a condition's label tests (`stage in [...]` → `stage`), if it is a fact's. */
export function conditionFact(label: string): string | undefined {
  return /^(\S+) (eq|ne|in|not_in|contains|matches|exists|gt|gte|lt|lte|has|not_has|has_any|has_none|empty) /.exec(label)?.[1];
}

/** A condition's value as written in the rule (JSON in the label): lists joined with 、. */
function valueText(raw: string, key: string): string {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    // `role in [owner, instructor]` of a command's trace is not JSON
    const list = /^\[(.*)\]$/.exec(raw);
    return list ? list[1]!.split(/,\s*/).map((x) => enumText(key, x) ?? x).join('、') : raw;
  }
  const one = (x: unknown) => (typeof x === 'string' ? (enumText(key, x) ?? durationZh(x)) : typeof x === 'boolean' ? (x ? '是' : '否') : String(x));
  return Array.isArray(v) ? v.map(one).join('、') : one(v);
}

/** A condition as a sentence: 「阶段 是 prospect、churned 之一」, 「冷却 30 天」. */
export function describeCondition(c: TraceCondition): string {
  const label = c.condition;
  const cool = /^cooldown (\S+)$/.exec(label);
  if (cool) return `冷却：上次触发后 ${durationZh(cool[1]!)} 内不再触发`;
  if (label === 'group accepts staff commands') return '这个群接受员工命令';
  if (label === 'no other rule answered') return '没有别的规则已经回答（兜底规则）';
  const m = /^(\S+) (eq|ne|in|not_in|contains|matches|exists|gt|gte|lt|lte|has|not_has|has_any|has_none|empty) (.*)$/.exec(label);
  if (!m) return label;
  const [, key, op, raw] = m as unknown as [string, string, string, string];
  const f = factName(key);
  const v = valueText(raw, key);
  switch (op) {
    case 'eq':
      return raw === 'true' || raw === 'false' ? `${f}：${v}` : `${f} 是 ${v}`;
    case 'ne':
      return raw === 'true' || raw === 'false' ? `${f}：不是${v}` : `${f} 不是 ${v}`;
    case 'in':
      return `${f} 是 ${v} 之一`;
    case 'not_in':
      return `${f} 不是 ${v} 之一`;
    case 'contains':
      return `${f} 包含「${v}」`;
    case 'matches':
      return `${f} 符合 ${v}`;
    case 'exists':
      return raw === 'false' ? `没有${f}` : `有${f}`;
    case 'gt':
      return `${f} > ${v}`;
    case 'gte':
      return `${f} ≥ ${v}`;
    case 'lt':
      return `${f} < ${v}`;
    case 'lte':
      return `${f} ≤ ${v}`;
    case 'has':
      return `${f} 有 ${v}`;
    case 'not_has':
      return `${f} 没有 ${v}`;
    case 'has_any':
      return `${f} 有 ${v} 中的一个`;
    case 'has_none':
      return `${f} 没有 ${v} 中的任何一个`;
    case 'empty':
      return raw === 'false' ? `${f} 不为空` : `${f} 为空`;
  }
  return label;
}

/** The value a fact (`key`, see conditionFact) had: 从未触发, 3 小时 前触发过, 是/否, 无. */
export function describeActual(v: unknown, key?: string): string {
  if (v === null || v === undefined) return '无';
  if (typeof v === 'boolean') return v ? '是' : '否';
  if (typeof v === 'string') {
    if (v === 'never fired') return '从未触发';
    if (v === 'none answered') return '没有';
    const answered = /^answered by (.+)$/.exec(v);
    if (answered) return `已由 ${answered[1]} 回答`;
    const ago = /^fired (\S+) ago$/.exec(v);
    if (ago) return `${durationZh(ago[1]!)} 前触发过`;
    return enumText(key, v) ?? durationZh(v);
  }
  return typeof v === 'number' ? String(v) : JSON.stringify(v);
}

type NoteRule = [RegExp, (m: RegExpExecArray) => string];

const referralHow = (how: string) => (how.startsWith('code ') ? `推荐码 ${how.slice(5)}` : how === 'platform inviter' ? '被成员拉进群' : how.startsWith('invite link') ? '专属入群链接' : how);
const qaRest = (rest: string) =>
  rest
    .replace(/^silent$/, '不回答')
    .replace(/^escalated as (Q\d+) to (\d+) staff chat\(s\)/, '转给老师（问题 $1，发给 $2 位老师）')
    .replace(/; (\d+) held to be merged$/, '；$1 条合并后再发');

/** Action notes, by the words each action records (see the `ctx.note` calls in src/flows). */
const NOTES: NoteRule[] = [
  [/^reply: ([\s\S]*)$/, (m) => `回复：${m[1]}`],
  [/^dm: ([\s\S]*)$/, (m) => `私信：${m[1]}`],
  [/^stage (\S+) → (\S+)(?:; referral code (\S+) issued)?$/, (m) => `阶段 ${m[1]} → ${m[2]}${m[3] ? `；发放推荐码 ${m[3]}` : ''}`],
  [/^stage already (\S+)$/, (m) => `已经在阶段 ${m[1]}`],
  [/^refused: stage (\S+) → (\S+) is not allowed by config \(from \S+: (.*)\)$/, (m) => `拒绝：阶段设置不允许 ${m[1]} → ${m[2]}（${m[1]} 只能去 ${m[3]!.replace(/, /g, '、')}）`],
  [/^sequence (\S+): (\d+) steps planned$/, (m) => `推送「${m[1]}」：安排了 ${m[2]} 步`],
  [/^sequence (\S+): (\d+) steps planned from the channel's opening$/, (m) => `推送「${m[1]}」：从私信渠道打开时算起，安排了 ${m[2]} 步`],
  [/^sequence (\S+): waits for the private channel to open \((\d+) steps\)$/, (m) => `推送「${m[1]}」：等私信渠道打开后开始（共 ${m[2]} 步）`],
  [/^sequence (\S+): (\d+) pending steps cancelled( \(it was waiting for the private channel\))?$/, (m) => `推送「${m[1]}」：取消了 ${m[2]} 个还没发的步骤${m[3] ? '（它在等私信渠道打开）' : ''}`],
  [/^sequence (\S+) never started \(not delivered within (\S+): the private channel did not open\)$/, (m) => `推送「${m[1]}」没有开始：${durationZh(m[2]!)} 内私信渠道没有打开`],
  [/^inactivity watch: rule (\S+) after (\S+) of silence$/, (m) => `沉默检查：${durationZh(m[2]!)} 没有动静就运行规则 ${m[1]}`],
  [/^inactive for (\S+): rule (\S+) fired$/, (m) => `已经 ${durationZh(m[1]!)} 没有动静：运行规则 ${m[2]}`],
  [/^active (\S+) ago; next check in (\S+)$/, (m) => `${durationZh(m[1]!)} 前还有动静；${durationZh(m[2]!)} 后再检查`],
  [/^rule (\S+) scheduled in (\S+)$/, (m) => `${durationZh(m[2]!)} 后运行规则 ${m[1]}`],
  [/^lesson (\d+) sent privately$/, (m) => `私信发送第 ${m[1]} 课`],
  [/^lesson (\d+) sent$/, (m) => `发送第 ${m[1]} 课`],
  [/^skipped: member is in stage (\S+), not (.+)$/, (m) => `跳过：成员现在在阶段 ${m[1]}，不在 ${m[2]}`],
  [/^order opened: (\S+) (.+)$/, (m) => `新订单 ${m[1]}（${m[2]}）：报名链接私信发给 TA`],
  [/^checkout link sent again: (\S+) (.+)$/, (m) => `再次私信发送订单 ${m[1]} 的报名链接（${m[2]}）`],
  [/^not sold: (\w+)$/, (m) => `没有下单：${NOT_SOLD[m[1]!] ?? m[1]}`],
  [/^nothing on sale$/, () => '没有下单：现在没有在售的课程'],
  [/^order (\S+) paid \((.+) via (\w+)\)$/, (m) => `订单 ${m[1]} 已支付（${m[2]}，${PROVIDER[m[3]!] ?? m[3]}）`],
  [/^order (\S+) refunded \((.+)\)$/, (m) => `订单 ${m[1]} 已退款（${m[2]}）`],
  [/^order (\S+) partially_refunded \((.+)\)$/, (m) => `订单 ${m[1]} 部分退款（${m[2]}）`],
  [/^removal from (\d+) paid group\(s\) queued$/, (m) => `将移出 ${m[1]} 个正式班群`],
  [/^tagged (.+)$/, (m) => `打上标签「${m[1]}」`],
  [/^already tagged (.+)$/, (m) => `已经有标签「${m[1]}」`],
  [/^untagged (.+)$/, (m) => `去掉标签「${m[1]}」`],
  [/^had no tag (.+)$/, (m) => `本来就没有标签「${m[1]}」`],
  [/^private channel open \(already a friend\)$/, () => '私信渠道已打开（本来就是好友）'],
  [/^private channel opened \(the member wrote privately\)$/, () => '私信渠道打开了（TA 私信了机器人）'],
  [/^private channel opened \((\w+)\)$/, (m) => `私信渠道打开了（${CHANNEL_HOW[m[1]!] ?? m[1]}）`],
  [/^private channel not open: not a friend of the account yet$/, () => '私信渠道还没打开：TA 还不是机器人微信号的好友，私信先等着'],
  [/^private channel closed: no longer a friend of the account$/, () => '私信渠道关闭：TA 已经不是机器人微信号的好友'],
  [/^private channel closed: blocked by the person(?:; (\d+) held message\(s\) dropped)?$/, (m) => `私信渠道关闭：TA 把机器人拉黑了${m[1] ? `，丢弃了 ${m[1]} 条等待中的私信` : ''}`],
  [/^(\d+) held message\(s\) released to the outbox$/, (m) => `${m[1]} 条等待中的私信放行发送`],
  [/^(\d+) held message\(s\) past the window expired$/, (m) => `${m[1]} 条等待中的私信过期了`],
  [/^nothing held past the window$/, () => '没有过期的私信'],
  [/^expired (\d+) held message\(s\), (\d+) waiting sequence\(s\)$/, (m) => `过期了 ${m[1]} 条私信、${m[2]} 个等待中的推送`],
  [/^not sent: bot paused in (\S+)$/, (m) => `没有发送：机器人在 ${m[1]} 已暂停`],
  [/^bot paused in (\S+): no rules run$/, (m) => `机器人在 ${m[1]} 已暂停：不运行规则`],
  [/^answered from "(.+)" \(confidence ([\d.]+)\)$/, (m) => `用知识库条目「${m[1]}」回答（把握 ${m[2]}）`],
  [/^best match "(.+)" at confidence ([\d.]+) < ([\d.]+); (.*)$/, (m) => `最接近的知识库条目「${m[1]}」把握只有 ${m[2]}（低于 ${m[3]}）：${qaRest(m[4]!)}`],
  [/^asked the LLM as (Q\d+) with (\d+) passages \(best "(.+)" at ([\d.]+)\)$/, (m) => `交给大模型回答（问题 ${m[1]}，参考 ${m[2]} 段，最接近「${m[3]}」把握 ${m[4]}）`],
  [/^(Q\d+) answered and learned as "(.+)"$/, (m) => `${m[1]} 已回答，并加入知识库「${m[2]}」`],
  [/^small talk; silent$/, () => '寒暄：不回答'],
  [/^nothing to answer$/, () => '没有要回答的内容'],
  [/^member daily quota reached; silent$/, () => 'TA 今天的提问次数用完了：不回答'],
  [/^group daily quota reached; silent$/, () => '这个群今天的提问次数用完了：不回答'],
  [/^checked in for (\S+): streak (\d+), total (\d+)$/, (m) => `${m[1]} 打卡：连续 ${m[2]} 天，累计 ${m[3]} 天`],
  [/^already checked in on (\S+)$/, (m) => `${m[1]} 已经打过卡`],
  [/^made up (\S+): streak (\d+)$/, (m) => `补卡 ${m[1]}：连续 ${m[2]} 天`],
  [/^leave (.+)$/, (m) => `请假 ${m[1]}`],
  [/^leaderboard of (\S+): (\d+) entries$/, (m) => `「${m[1]}」打卡排行榜：${m[2]} 人`],
  [/^submitted week (\d+) as (\S+)( \(late\))?$/, (m) => `提交第 ${m[1]} 周作业（编号 ${m[2]}）${m[3] ? '，迟交' : ''}`],
  [/^referral by (.+?): accepted, referrer (\S+) \[decision \d+\]$/, (m) => `推荐（${referralHow(m[1]!)}）：已登记，推荐人 ${m[2]}`],
  [/^referral by (.+?): refused \((\w+)\) \[decision \d+\]$/, (m) => `推荐（${referralHow(m[1]!)}）：没有登记，${REFERRAL_REFUSED[m[2]!] ?? m[2]}`],
  [/^referral code (\S+) issued$/, (m) => `发放推荐码 ${m[1]}`],
  [/^already has referral code (\S+)$/, (m) => `已经有推荐码 ${m[1]}`],
  [/^referral code (\S+) sent$/, (m) => `私信发送推荐码 ${m[1]}`],
  [/^no code: stage (\S+) is not in (.+)$/, (m) => `还没有推荐码：阶段 ${m[1]} 不在 ${m[2]} 里`],
  [/^no referral code in the message$/, () => '消息里没有推荐码'],
  [/^rate limited; silent$/, () => '尝试太频繁：不回复'],
  [/^no platform evidence of an inviter$/, () => '平台没有说是谁邀请的'],
  [/^nothing to moderate$/, () => '没有要处理的内容'],
  [/^warned (\d+)\/(\d+), announced \((\w+)\): (\w+) \((.+)\)$/, (m) => `警告 ${m[1]}/${m[2]}（群里提醒${m[3] === 'held' ? '，合并后发出' : ''}）：${MODERATION[m[4]!] ?? m[4]}（${m[5]}）`],
  [/^removed after (\d+) warnings: (\w+) \((.+)\)$/, (m) => `警告 ${m[1]} 次后移出本群：${MODERATION[m[2]!] ?? m[2]}（${m[3]}）`],
  [/^(\d+) [\w.]+ notice\(s\) to (\S+) sent as one message$/, (m) => `${m[1]} 条通知合并成一条发给 ${m[2]}`],
  [/^appeal forwarded to staff$/, () => '申诉已转给老师'],
  [/^dashboard login link sent privately$/, () => '私信发送仪表盘登录链接'],
  [/^whoami: (\w+)$/, (m) => `查询身份：${ROLE[m[1]!] ?? m[1]}`],
  [/^listed (\d+) commands for (\w+)$/, (m) => `列出 ${m[1]} 条命令（${ROLE[m[2]!] ?? m[2]}）`],
  // staff commands
  [/^reminder (\S+): groups (\d+)-(\d+) of (\d+), (\d+) not checked in, (\d+) group messages, (\d+) nudges$/, (m) => `${m[1]} 打卡提醒（第 ${m[2]}-${m[3]} 个群，共 ${m[4]} 个）：${m[5]} 人没打卡，群里提醒 ${m[6]} 条，私信督促 ${m[7]} 人`],
  [/^week (\d+) announced in (\d+) group chats$/, (m) => `第 ${m[1]} 周作业已在 ${m[2]} 个群发布`],
  [/^week (\d+) reminder \((.+) before\): (\d+) sent$/, (m) => `第 ${m[1]} 周作业截止前 ${durationZh(m[2]!)} 提醒：发出 ${m[3]} 条`],
  [/^listed week (\d+)$/, (m) => `列出第 ${m[1]} 周作业`],
  [/^listed (\d+) weeks$/, (m) => `列出 ${m[1]} 周作业`],
  [/^(H\d+) reviewed$/, (m) => `作业 ${m[1]} 已批改`],
  [/^(A\d+) previewed: (\d+) messages$/, (m) => `公告 ${m[1]} 预览：${m[2]} 条消息`],
  [/^(A\d+) scheduled$/, (m) => `公告 ${m[1]} 已定时`],
  [/^(A\d+) reminder scheduled$/, (m) => `提醒 ${m[1]} 已定时`],
  [/^(A\d+): (\d+) messages queued$/, (m) => `公告 ${m[1]}：${m[2]} 条消息排队发送`],
  [/^(A\d+) done: sent (\d+), failed (\d+), dry run (\d+)$/, (m) => `公告 ${m[1]} 完成：发出 ${m[2]} 条，失败 ${m[3]} 条，演练 ${m[4]} 条`],
  [/^(A\d+) cancelled \(was (\w+); (\d+) pending dropped\)$/, (m) => `公告 ${m[1]} 已取消（丢弃 ${m[3]} 条未发）`],
  [/^dry run: (\d+) messages shown, nothing saved$/, (m) => `演练：显示 ${m[1]} 条消息，没有保存`],
  [/^listed (\d+)$/, (m) => `列出 ${m[1]} 条`],
  [/^paused (\S+); (\d+) pending messages dropped$/, (m) => `暂停 ${m[1]}：丢弃 ${m[2]} 条未发消息`],
  [/^resumed (\S+)$/, (m) => `恢复 ${m[1]}`],
  [/^stats for all groups$/, () => '查看所有群的数据'],
  [/^stats for (\S+)$/, (m) => `查看 ${m[1]} 的数据`],
  [/^member (\S+)$/, (m) => `查看成员 ${m[1]}`],
  [/^stage history of (\S+) shown$/, (m) => `查看 ${m[1]} 的阶段记录`],
  [/^tags of (\S+): ([\s\S]*)$/, (m) => `${m[1]} 的标签：${m[2]}`],
  [/^custom code (\S+) set for (\S+)$/, (m) => `为 ${m[2]} 设置推荐码 ${m[1]}`],
  [/^pardoned (\S+) \((\d+) warnings, (\d+) removals cleared\)$/, (m) => `赦免 ${m[1]}（清除 ${m[2]} 次警告、${m[3]} 次移出）`],
  [/^refused: role (\w+)$/, (m) => `拒绝：${ROLE[m[1]!] ?? m[1]}不能用这个命令`],
  [/^refused: group (\S+) does not accept staff commands$/, (m) => `拒绝：群 ${m[1]} 不接受员工命令`],
  [/^refused: ([\s\S]*)$/, (m) => `拒绝：${m[1]}`],
  [/^usage error: ([\s\S]*)$/, (m) => `用法错误：${m[1]}`],
  [/^skipped: ([\s\S]*)$/, (m) => `跳过：${m[1]}`],
];

/** An action's note in words; an unknown note as recorded. */
export function describeNote(note: unknown): string {
  if (typeof note !== 'string') return JSON.stringify(note);
  for (const [re, say] of NOTES) {
    const m = re.exec(note);
    if (m) return say(m);
  }
  return note;
}
