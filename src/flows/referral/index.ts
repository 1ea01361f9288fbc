import { z } from 'zod';
import { getMember, identitiesOf } from '../../store/members.js';
import { eventPayload } from '../../store/events.js';
import {
  activeCodeOf,
  countCodeAttempts,
  countPaidReferrals,
  countReferrals,
  findCode,
  findInviteLink,
  insertCode,
  inviteLinksOf,
  ledgerRows,
  ledgerSummary,
  ledgerTotalFen,
  referralOf,
  retireCodes,
} from './store.js';
import { REFERRAL_TEMPLATES, referralSection } from './config.js';
import { referralChannel } from './channel.js';
import { referralDiscount } from './discount.js';
import { inviteLinkCreated } from './invite-links.js';
import { ensureCode, findCodeInText, isWellFormed, normalizeCode } from './code.js';
import { attribute, referrerOfCode, type Decision, type Evidence } from './attribution.js';
import { describeReward, referralRewards } from './rewards.js';
import { yuan } from '../../util/money.js';
import type { InviteLinkDetail } from './invite-links.js';
import type { Feature } from '../../core/feature.js';
import type { Db } from '../../store/db.js';
import type { DiscountSource } from '../orders/contracts.js';
import { findOneMember } from '../../core/member-arg.js';
import { UsageError, type ActionSpec, type CommandSpec, type CourseConfig, type RunContext } from '../../core/types.js';

/** The `referral` service: what referrals offer other features. */
export interface ReferralService {
  /** The newcomer's discount at checkout, for the orders feature's price. */
  discount: DiscountSource;
  /**
   * The member's referral code, issued now when their stage qualifies (as /mycode does); null
   * when referrals are off or the member has none and may not have one yet (the poster).
   */
  codeFor(db: Db, config: CourseConfig, memberId: string, now: number): string | null;
}

/** ReferralService.codeFor. */
function codeFor(db: Db, config: CourseConfig, memberId: string, now: number): string | null {
  const r = config.referral;
  const member = getMember(db, memberId);
  if (!r || !member) return null;
  const active = activeCodeOf(db, memberId);
  if (active) return active.code;
  if (!r.issue_at.includes(member.stage)) return null;
  return ensureCode(db, { memberId, length: r.code_length, now }).code.code;
}

declare module '../../core/types.js' {
  interface Services {
    referral: ReferralService;
  }
}
import { hasPendingPlatformAction, queuePlatformAction } from '../../store/platform-actions.js';

const noArg = z.strictObject({}).default({});
const attributeArg = z.strictObject({ notify: z.boolean().default(true) }).default({ notify: true });

function requireReferralTemplates(_arg: unknown, ctx: { config: { referral: unknown; templates: Record<string, string> } }): string[] {
  if (!ctx.config.referral) return ['referrals are not configured: add a `referral:` section to kequn.yaml (docs/referrals.md)'];
  return REFERRAL_TEMPLATES.filter((t) => !(t in ctx.config.templates)).map((t) => `needs a "${t}" template in templates.yaml`);
}

/**
 * The invite link in the logged join event: Telegram's `inviteLink: { url, name, creatorId }`
 * (src/bot/events.ts), or a plain URL string.
 */
function inviteLinkOfEvent(payload: Record<string, unknown> | undefined): { url: string; name: string | null } | null {
  const v = payload?.inviteLink;
  if (typeof v === 'string') return { url: v, name: null };
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const url = o.url ?? o.invite_link;
    if (typeof url === 'string') return { url, name: typeof o.name === 'string' ? o.name : null };
  }
  return null;
}

/** Per-member links are named `ref-<CODE>` when created (see docs/referrals.md); only admins can create links. */
export function referralLinkName(code: string): string {
  return `ref-${code}`;
}

/** The referrer a link names: registered in referral_invite_links, else by its `ref-<CODE>` name. */
function referrerOfLink(ctx: RunContext, link: { url: string; name: string | null }): string | null {
  const registered = findInviteLink(ctx.db, ctx.trigger.platform, link.url);
  if (registered) return registered.member_id;
  const m = link.name ? /^ref-([0-9A-Za-z]{4,12})$/.exec(link.name) : null;
  return m ? referrerOfCode(ctx.db, normalizeCode(m[1]!)) : null;
}

/** Tells the referrer privately that someone was attributed to them (template optional). */
function notifyReferrer(ctx: RunContext, referrerId: string): void {
  const template = ctx.config.templates.referral_referrer_notice;
  const identity = identitiesOf(ctx.db, referrerId).find((i) => i.platform === ctx.trigger.platform);
  const referrer = getMember(ctx.db, referrerId);
  if (!template || !identity || !referrer) return;
  ctx.send({
    to: 'chat',
    chat: { kind: 'dm', id: identity.platform_id },
    text: ctx.render(template, { referrer: referrer.display_name, referred: ctx.member.display_name }),
    priority: 'push',
  });
}

function noteDecision(ctx: RunContext, d: Decision, evidence: Evidence): void {
  const what = evidence.source === 'code' || evidence.source === 'checkout' ? `code ${evidence.code}` : evidence.source === 'invite_link' ? `invite link ${evidence.link}` : 'platform inviter';
  ctx.note(`referral by ${what}: ${d.ok ? `accepted, referrer ${d.referrerId}` : `refused (${d.reason})`} [decision ${d.decisionId}]`);
}

const attributeReferral: ActionSpec<z.infer<typeof attributeArg>> = {
  name: 'attribute_referral',
  description: 'on a join: record who referred the newcomer from the platform evidence (inviter, personal invite link)',
  schema: attributeArg,
  check: requireReferralTemplates,
  run(arg, ctx) {
    const { db, config, trigger, member, now } = ctx;
    if (trigger.type !== 'member.joined') return ctx.note('attribute_referral: not a join; nothing to attribute');
    const evidence: Evidence[] = [];
    if (trigger.inviterMemberId) evidence.push({ source: 'inviter', referrerId: trigger.inviterMemberId, group: trigger.group });
    const link = trigger.eventId !== null ? inviteLinkOfEvent(eventPayload(db, trigger.eventId)) : null;
    if (link) evidence.push({ source: 'invite_link', referrerId: referrerOfLink(ctx, link), link: link.url, group: trigger.group });
    // A join by QR code or a public link names nobody: the newcomer may still say a code.
    if (evidence.length === 0) return ctx.note('no platform evidence of an inviter');
    for (const e of evidence) {
      // A link nobody owns (a public group link) is no evidence of a referrer.
      if (e.referrerId === null) {
        ctx.note(`invite link ${e.link} belongs to no member`);
        continue;
      }
      const d = attribute(db, config, { referredId: member.id, evidence: e, eventId: trigger.eventId, now });
      noteDecision(ctx, d, e);
      if (d.ok && arg.notify) notifyReferrer(ctx, d.referrerId!);
      if (d.ok || d.reason === 'already_referred' || d.reason === 'already_referred_same') return;
    }
  },
};

const redeemReferralCode: ActionSpec<z.infer<typeof noArg>> = {
  name: 'redeem_referral_code',
  description: 'the newcomer said a referral code: attribute it (one referrer, checks, rate limit) and answer privately',
  schema: noArg,
  check: requireReferralTemplates,
  run(_arg, ctx) {
    const { db, config, trigger, member, now } = ctx;
    const r = config.referral!;
    const code = findCodeInText(trigger.text);
    if (code === null) return ctx.note('no referral code in the message');
    const evidence: Evidence = { source: 'code', referrerId: referrerOfCode(db, code), code, group: trigger.group };
    const d = attribute(db, config, { referredId: member.id, evidence, eventId: trigger.eventId, now });
    noteDecision(ctx, d, evidence);
    // Saying the same code twice is not a mistake: the member is told again that it stands.
    if (d.ok || d.reason === 'already_referred_same') {
      const referrer = getMember(db, d.referrerId!)!;
      ctx.send({ to: 'dm', text: ctx.render(config.templates.referral_accepted!, { referrer: referrer.display_name, discount_yuan: yuan(r.newcomer_discount) }) });
      if (d.ok) notifyReferrer(ctx, d.referrerId!);
      return;
    }
    // Over the limit the member is told once, then the bot stays silent (no reply storm to a guesser).
    if (d.reason === 'rate_limited' && countCodeAttempts(db, member.id, now - r.attempts.per) > r.attempts.max + 1) return ctx.note('rate limited; silent');
    ctx.send({ to: 'dm', text: ctx.render(config.templates.referral_rejected!, { reason: d.text }) });
  },
};

/** The course group newcomers are invited to on Telegram: the first trial group with a chat id, else any. */
function inviteLinkGroup(config: CourseConfig): { handle: string; chatId: string } | undefined {
  const withId = Object.entries(config.groups).filter(([, g]) => g.telegram);
  const [handle, g] = withId.find(([, g]) => g.kind === 'trial') ?? withId.find(([, g]) => g.kind !== 'staff') ?? [];
  return handle && g?.telegram ? { handle, chatId: g.telegram } : undefined;
}

/** `/mycode` and the "我的推荐码" rule: the code (issued now if the member qualifies), link and stats. */
function sendMyCode(ctx: RunContext): string {
  const { db, config, trigger, now } = ctx;
  const r = config.referral;
  if (!r) {
    ctx.send({ to: 'dm', text: '本课程没有开启推荐。' });
    return 'referrals off';
  }
  const member = getMember(db, ctx.member.id)!;
  if (!activeCodeOf(db, member.id) && !r.issue_at.includes(member.stage)) {
    ctx.send({ to: 'dm', text: ctx.render(config.templates.referral_not_yet!) });
    return `no code: stage ${member.stage} is not in ${r.issue_at.join('/')}`;
  }
  const { code, issued } = ensureCode(db, { memberId: member.id, length: r.code_length, now });
  const links = inviteLinksOf(db, member.id).filter((l) => l.platform === trigger.platform);
  // On Telegram a referrer also gets a personal invite link; the Bot API call happens after this
  // transaction (a platform action), and the link follows in its own message.
  const linkGroup = trigger.platform === 'telegram' && links.length === 0 ? inviteLinkGroup(config) : undefined;
  if (linkGroup && !hasPendingPlatformAction(db, { platform: 'telegram', action: 'create_invite_link', userId: trigger.userPlatformId })) {
    const detail: InviteLinkDetail = { purpose: 'referral', name: `ref-${code.code}`, memberId: member.id, groupId: linkGroup.handle };
    queuePlatformAction(db, { platform: 'telegram', action: 'create_invite_link', chatId: linkGroup.chatId, userId: trigger.userPlatformId, messageId: null, moderationId: null, now, detail });
  }
  ctx.send({
    to: 'dm',
    text: ctx.render(config.templates.referral_mycode!, {
      referral_code: code.code,
      invite_link: links.map((l) => l.link).join('\n'),
      referrals_joined: String(countReferrals(db, member.id)),
      referrals_paid: String(countPaidReferrals(db, member.id)),
      rewards_yuan: yuan(ledgerTotalFen(db, member.id)),
      discount_yuan: yuan(r.newcomer_discount),
    }).replace(/\n{2,}/g, '\n'), // no blank line where there is no invite link
  });
  return `referral code ${code.code}${issued ? ' issued and' : ''} sent`;
}

const sendReferralCode: ActionSpec<z.infer<typeof noArg>> = {
  name: 'send_referral_code',
  description: "send the member their referral code and stats privately (issued now if their stage qualifies)",
  schema: noArg,
  check: requireReferralTemplates,
  run: (_arg, ctx) => ctx.note(sendMyCode(ctx)),
};

const issueReferralCode: ActionSpec<z.infer<typeof noArg>> = {
  name: 'issue_referral_code',
  description: 'give the member a referral code now, whatever their stage (silently)',
  schema: noArg,
  check: (_arg, ctx) => (ctx.config.referral ? [] : ['referrals are not configured: add a `referral:` section to kequn.yaml']),
  run(_arg, ctx) {
    const { code, issued } = ensureCode(ctx.db, { memberId: ctx.member.id, length: ctx.config.referral!.code_length, now: ctx.now });
    ctx.note(issued ? `referral code ${code.code} issued` : `already has referral code ${code.code}`);
  },
};

const mycode: CommandSpec = {
  name: 'mycode',
  roles: ['owner', 'instructor', 'assistant', 'member'],
  usage: '/mycode',
  description: '我的推荐码和推荐记录（私信）',
  run: (_args, ctx) => sendMyCode(ctx),
};

const referralsCommand: CommandSpec = {
  name: 'referrals',
  roles: ['owner', 'instructor'],
  usage: '/referrals [成员]',
  description: '推荐奖励账本：每位推荐人的合计，或某位成员的明细',
  run(args, ctx) {
    const { db } = ctx;
    const name = (id: string | null) => (id ? (getMember(db, id)?.display_name ?? id) : '');
    const lines: string[] = [];
    if (args.trim() !== '') {
      const m = findOneMember(db, args);
      const rows = ledgerRows(db, { referrerId: m.id, limit: 30 });
      lines.push(`${m.display_name} 的推荐：已推荐 ${countReferrals(db, m.id)} 人，已报名 ${countPaidReferrals(db, m.id)} 人，奖励合计 ${yuan(ledgerTotalFen(db, m.id))} 元`);
      for (const e of rows) {
        const what = e.entry === 'reversal' ? `冲销 ${yuan(e.fen)} 元` : e.entry === 'tier_bonus' ? `满 ${e.tier} 人奖励 ${describeReward(e)}` : describeReward(e);
        lines.push(`#${e.id} ${what}${e.referred_id ? ` · ${name(e.referred_id)}` : ''}${e.order_id ? ` · 订单 ${e.order_id}` : ''}${e.reversed_by ? ' · 已冲销' : ''}${e.paid_out_at ? ' · 已发放' : ''}`);
      }
      if (rows.length === 0) lines.push('还没有奖励记录。');
    } else {
      const summary = ledgerSummary(db);
      lines.push(summary.length ? '推荐奖励（合计 / 待发放）：' : '还没有推荐奖励记录。');
      for (const s of summary.slice(0, 30)) lines.push(`${name(s.referrer_id)}：已报名 ${countPaidReferrals(db, s.referrer_id)} 人，合计 ${yuan(s.fen)} 元，待发放 ${yuan(s.unpaid_fen)} 元`);
      if (summary.length) lines.push('导出待发放：kequn referrals export --csv');
    }
    ctx.send({ to: 'dm', text: lines.join('\n') });
    return `ledger listed (${lines.length - 1} lines)`;
  },
};

const refcode: CommandSpec = {
  name: 'refcode',
  roles: ['owner', 'instructor'],
  usage: '/refcode <成员> <推荐码>',
  description: '给成员设置一个好记的推荐码（替换原来的）',
  run(args, ctx) {
    const { db, config, now } = ctx;
    if (!config.referral) throw new UsageError('referrals are not configured (kequn.yaml `referral:`)');
    const m = /^(.+)\s+(\S+)$/.exec(args.trim());
    if (!m) throw new UsageError('expected a member and a code');
    const member = findOneMember(db, m[1]!);
    const code = normalizeCode(m[2]!);
    if (!isWellFormed(code)) throw new UsageError(`"${m[2]}" is not a valid code: 4-12 characters from 2-9 and A-Z without I, L, O, with at least one digit and one letter`);
    const taken = findCode(db, code);
    if (taken && taken.member_id !== member.id) throw new UsageError(`code ${code} is already used`);
    if (taken?.retired_at === null) {
      ctx.send({ to: 'dm', text: `${member.display_name} 的推荐码已经是 ${code}。` });
      return `code ${code} unchanged`;
    }
    // A retired code stays retired: whoever was told it once must not be attributed by surprise later.
    if (taken) throw new UsageError(`code ${code} was used before and retired; choose another`);
    retireCodes(db, member.id, now);
    insertCode(db, { code, memberId: member.id, kind: 'custom', now });
    ctx.send({ to: 'dm', text: `已把 ${member.display_name} 的推荐码设为 ${code}。` });
    return `custom code ${code} set for ${member.id}`;
  },
};

/**
 * Referrals: codes for members who reached a stage (`referral.issue_at`), attribution of
 * newcomers to referrers (platform inviter, invite link, a code said in chat; checkout is in
 * src/flows/referral/discount.ts), and the rewards ledger (src/flows/referral/rewards.ts, on payment).
 */
export const referralFeature: Feature = {
  name: 'referral',
  config: [referralSection],
  needs: ['stages'],
  provides: ['referral'],
  services: () => ({ referral: { discount: referralDiscount, codeFor } }),
  // The newcomer's discount and the referrer's reward, for FAQ answers and templates (yuan).
  courseValues: (config): Record<string, string> =>
    config.referral ? { 'referral.discount': yuan(config.referral.newcomer_discount), 'referral.reward': yuan(config.referral.reward.fen) } : {},
  templateVars: ['referral_code', 'invite_link', 'referrals_joined', 'referrals_paid', 'rewards_yuan', 'discount_yuan', 'referrer', 'referred', 'reason', 'reward', 'count', 'names', 'code', 'source'],
  // The referrer's reward when the referred member pays, its reversal on a full refund.
  on: {
    'order.paid': (ctx) => referralRewards.paid(ctx.db, ctx.config, ctx.trigger.order!, ctx.now, ctx.services),
    'order.refunded': (ctx) => referralRewards.refunded(ctx.db, ctx.config, ctx.trigger.order!, ctx.trigger.order!.state === 'refunded', ctx.now),
  },
  // Entering a stage of `referral.issue_at` issues the member's code.
  onStageEntered(db, config, move, now) {
    if (!config.referral?.issue_at.includes(move.to)) return;
    const { code, issued } = ensureCode(db, { memberId: move.memberId, length: config.referral.code_length, now });
    if (!issued) return;
    move.note(`referral code ${code.code} issued`);
    move.tell(`已发放推荐码 ${code.code}。`);
  },
  onPlatformAction: { referral: inviteLinkCreated },
  channel: referralChannel,
  facts: [
    {
      name: 'referral_code',
      type: 'string',
      description: 'the referral code in the message ("推荐码 K7M2XQ", or a message that is only a code), or on channel.opened in the friend request\'s greeting or the /start link; null if none',
      get: (c) => (c.trigger.type === 'message' || c.trigger.type === 'channel.opened' ? findCodeInText(c.trigger.text) : null),
    },
    {
      name: 'invite_link',
      type: 'string',
      description: 'on a join: the invite link the newcomer used, when the platform says (Telegram); null otherwise',
      get: (c) => (c.trigger.type === 'member.joined' && c.trigger.eventId !== null ? (inviteLinkOfEvent(eventPayload(c.db, c.trigger.eventId))?.url ?? null) : null),
    },
    { name: 'referred', type: 'boolean', description: 'the member has a referrer', get: (c) => referralOf(c.db, c.member.id) !== undefined },
    { name: 'referrals', type: 'number', description: 'members this member referred', get: (c) => countReferrals(c.db, c.member.id) },
    { name: 'referrals_paid', type: 'number', description: 'members this member referred who paid (rewards that stand)', get: (c) => countPaidReferrals(c.db, c.member.id) },
  ],
  actions: [attributeReferral, redeemReferralCode, sendReferralCode, issueReferralCode],
  commands: [mycode, referralsCommand, refcode],
};
