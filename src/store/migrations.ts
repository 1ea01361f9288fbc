/**
 * Numbered, append-only schema migrations. Never edit a migration that has shipped: add the
 * next number. `migrate()` applies the missing ones in order, each in its own transaction.
 */
export interface Migration {
  version: number;
  name: string;
  /** SQLite text, in the subset PostgreSQL also accepts once src/store/pg-ddl.ts translates it. */
  sql: string;
  /** PostgreSQL text, only where the translation cannot do it. */
  postgres?: string;
}

/**
 * Migration 13's statements that are the same on both backends but for the integer types (written
 * out here: importing the translator would make an import circle with src/store/pg-ddl.ts).
 */
const floodCommon = (int: string, pk: string) => `
-- The heads of the outbox's queues, per lane, chat and member (src/store/outbox.ts pendingHeads).
CREATE INDEX outbox_heads ON outbox(status, platform, priority, chat_id, member_id);
-- Escalation limits and acknowledgements (src/flows/qa/escalation.ts): when the asker was told
-- about this question (once per window); the counts use questions_member and questions_group.
ALTER TABLE questions ADD COLUMN told_at ${int};
-- Notices merged per chat and interval (src/core/notices.ts): an escalation to the staff, a
-- warning or removal in a group. The first goes at once; the ones after it within the interval
-- are held (sent_at NULL) and go out together as one message.
CREATE TABLE notices (
  id          ${pk},
  platform    TEXT NOT NULL,
  chat_kind   TEXT NOT NULL CHECK (chat_kind IN ('group', 'dm')),
  chat_id     TEXT NOT NULL,
  group_id    TEXT,                            -- group handle, for pause and dry run
  member_id   TEXT,                            -- whom it is about (privacy: forgotten with them)
  topic       TEXT NOT NULL,                   -- qa.escalation, moderation, moderation.staff
  text        TEXT NOT NULL,                   -- the message when it goes alone
  line        TEXT NOT NULL,                   -- its line in a merged message
  ref         TEXT,                            -- what it is about, for the merged header (Q12)
  head        TEXT NOT NULL,                   -- merged header: {count} and {code} (the refs)
  foot        TEXT NOT NULL DEFAULT '',
  created_at  ${int} NOT NULL,
  sent_at     ${int}                           -- NULL while held
);
CREATE INDEX notices_chat ON notices(platform, chat_id, topic, sent_at);
-- Moderation (src/flows/moderation/index.ts): a member's last offence of a kind, last removal.
CREATE INDEX moderation_member_action ON moderation_log(member_id, action, at);
`;

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'foundation',
    sql: `
CREATE TABLE members (
  id            TEXT PRIMARY KEY,            -- stable member key, never a platform id
  display_name  TEXT NOT NULL DEFAULT '',
  stage         TEXT NOT NULL,
  stage_since   INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL
);

-- Platform ids map to the stable member key: WeChat ids can change between logins on some
-- puppets, and one person can be on WeChat and Telegram.
CREATE TABLE identities (
  platform     TEXT NOT NULL,
  platform_id  TEXT NOT NULL,
  member_id    TEXT NOT NULL REFERENCES members(id),
  display_name TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (platform, platform_id)
);
CREATE INDEX identities_member ON identities(member_id);

CREATE TABLE memberships (
  member_id   TEXT NOT NULL REFERENCES members(id),
  group_id    TEXT NOT NULL,                 -- group handle from config
  joined_at   INTEGER NOT NULL,
  left_at     INTEGER,                       -- NULL while a member of the group
  inviter_id  TEXT,                          -- member key of the inviter, when the platform says
  join_count  INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (member_id, group_id)
);
CREATE INDEX memberships_group ON memberships(group_id, left_at);

CREATE TABLE member_tags (
  member_id  TEXT NOT NULL REFERENCES members(id),
  tag        TEXT NOT NULL,
  added_at   INTEGER NOT NULL,
  PRIMARY KEY (member_id, tag)
);

CREATE TABLE stage_transitions (
  id          INTEGER PRIMARY KEY,
  member_id   TEXT NOT NULL REFERENCES members(id),
  from_stage  TEXT,
  to_stage    TEXT NOT NULL,
  event_id    INTEGER,
  rule_id     TEXT,
  actor       TEXT NOT NULL DEFAULT 'bot',
  at          INTEGER NOT NULL
);
CREATE INDEX stage_transitions_member ON stage_transitions(member_id, at);
CREATE INDEX stage_transitions_to ON stage_transitions(to_stage, at);

CREATE TABLE events (
  id          INTEGER PRIMARY KEY,
  type        TEXT NOT NULL,
  platform    TEXT NOT NULL,
  dedupe_key  TEXT NOT NULL UNIQUE,          -- platform event id: a redelivered event is ignored
  member_id   TEXT,
  group_id    TEXT,
  payload     TEXT NOT NULL,                 -- JSON of the normalised ChatEvent
  at          INTEGER NOT NULL
);
CREATE INDEX events_member ON events(member_id, at);
CREATE INDEX events_type_at ON events(type, at);

CREATE TABLE outbox (
  id           INTEGER PRIMARY KEY,
  platform     TEXT NOT NULL,
  chat_kind    TEXT NOT NULL CHECK (chat_kind IN ('group', 'dm')),
  chat_id      TEXT NOT NULL,                -- platform id of the room or the person
  member_id    TEXT,
  group_id     TEXT,
  text         TEXT NOT NULL,
  priority     TEXT NOT NULL CHECK (priority IN ('reply', 'push')),
  status       TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'uncertain', 'dry_run')),
  not_before   INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  event_id     INTEGER,
  rule_id      TEXT,
  created_at   INTEGER NOT NULL,
  sent_at      INTEGER
);
CREATE INDEX outbox_pending ON outbox(status, not_before);
CREATE INDEX outbox_sent ON outbox(platform, sent_at);
CREATE INDEX outbox_chat ON outbox(chat_id, sent_at);

CREATE TABLE jobs (
  id           INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL,
  member_id    TEXT,
  payload      TEXT NOT NULL,
  due_at       INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'done', 'skipped', 'cancelled', 'failed')),
  dedupe_key   TEXT UNIQUE,                  -- planning the same job twice is a no-op
  created_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  note         TEXT
);
CREATE INDEX jobs_due ON jobs(status, due_at);
CREATE INDEX jobs_member ON jobs(member_id, status);

-- When each rule last fired for each member: rule cooldowns ("no second welcome within 30d").
CREATE TABLE rule_fires (
  member_id  TEXT NOT NULL,
  rule_id    TEXT NOT NULL,
  at         INTEGER NOT NULL,
  PRIMARY KEY (member_id, rule_id)
);

-- Why did (or didn't) a rule fire: one row per rule whose trigger matched an event.
CREATE TABLE rule_traces (
  id          INTEGER PRIMARY KEY,
  event_id    INTEGER,
  job_id      INTEGER,
  member_id   TEXT,
  rule_id     TEXT NOT NULL,
  matched     INTEGER NOT NULL,
  detail      TEXT NOT NULL,                 -- JSON: conditions with their values, actions taken
  at          INTEGER NOT NULL
);
CREATE INDEX rule_traces_member ON rule_traces(member_id, id);

CREATE TABLE kv (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'groups',
    sql: `
-- Course groups as configured, kept in the store so reports and other processes see them.
CREATE TABLE groups (
  id          TEXT PRIMARY KEY,              -- handle from config
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE TABLE group_platform_ids (
  platform     TEXT NOT NULL,
  platform_id  TEXT NOT NULL,
  group_id     TEXT NOT NULL REFERENCES groups(id),
  PRIMARY KEY (platform, platform_id)
);
`,
  },
  {
    version: 3,
    name: 'questions',
    sql: `
-- Every question the bot took up: answered from the knowledge base, or escalated to the staff.
CREATE TABLE questions (
  id                 INTEGER PRIMARY KEY,
  member_id          TEXT NOT NULL REFERENCES members(id),
  platform           TEXT NOT NULL,
  asker_platform_id  TEXT NOT NULL,
  group_id           TEXT,                   -- NULL when asked in private
  chat_id            TEXT NOT NULL,          -- where the answer goes
  text               TEXT NOT NULL,
  -- pending: waiting for the LLM (see src/flows/qa/llm-worker.ts); answered: by the bot; escalated: sent
  -- to the staff; resolved: a staff member answered it; dropped: the bot stayed silent after all
  status             TEXT NOT NULL CHECK (status IN ('pending', 'answered', 'escalated', 'resolved', 'dropped')),
  entry_id           TEXT,                   -- the FAQ entry that answered it (the cited one, for LLM answers)
  confidence         REAL,
  answer             TEXT,
  answered_via       TEXT,                   -- faq | llm | staff
  answered_by        TEXT,                   -- member key of the instructor, for escalated ones
  event_id           INTEGER,
  created_at         INTEGER NOT NULL,
  answered_at        INTEGER,
  -- LLM mode: what retrieval found, whether to escalate when the LLM cannot answer, the claim
  escalate           INTEGER NOT NULL DEFAULT 1,
  candidates         TEXT,                   -- JSON: [{id, confidence}] best first
  claimed_at         INTEGER,
  attempts           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX questions_pending ON questions(status, claimed_at) WHERE status = 'pending';

-- LLM tokens spent per local day, for the daily budget.
CREATE TABLE llm_usage (
  day                TEXT PRIMARY KEY,       -- YYYY-MM-DD in the course time zone
  prompt_tokens      INTEGER NOT NULL DEFAULT 0,
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  calls              INTEGER NOT NULL DEFAULT 0,
  failures           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX questions_member ON questions(member_id, created_at);
CREATE INDEX questions_group ON questions(group_id, created_at);
CREATE INDEX questions_status ON questions(status, created_at);

-- What the knowledge base learned from instructors: a new phrasing of an entry, or a new entry.
CREATE TABLE faq_learned (
  id           INTEGER PRIMARY KEY,
  entry_id     TEXT NOT NULL,
  question     TEXT NOT NULL,
  answer       TEXT,                          -- set when this created a new entry
  question_id  INTEGER,
  created_at   INTEGER NOT NULL
);
`,
  },
  {
    version: 4,
    name: 'checkins-homework',
    sql: `
-- One row per member and local day (course time zone): a check-in, a make-up (补卡) or a leave
-- day (请假). A day counts once; a leave day neither counts nor breaks a streak.
CREATE TABLE checkins (
  member_id  TEXT NOT NULL REFERENCES members(id),
  day        TEXT NOT NULL,                  -- YYYY-MM-DD, local
  kind       TEXT NOT NULL CHECK (kind IN ('checkin', 'makeup', 'leave')),
  group_id   TEXT,                           -- where it was said (NULL in private)
  note       TEXT NOT NULL DEFAULT '',
  event_id   INTEGER,
  at         INTEGER NOT NULL,
  PRIMARY KEY (member_id, day)
);
CREATE INDEX checkins_day ON checkins(day, kind);

CREATE TABLE homework_submissions (
  id           INTEGER PRIMARY KEY,
  member_id    TEXT NOT NULL REFERENCES members(id),
  week         INTEGER NOT NULL,
  link         TEXT NOT NULL,
  late         INTEGER NOT NULL DEFAULT 0,
  submitted_at INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  reviewed_by  TEXT,                         -- member key of the instructor
  reviewed_at  INTEGER,
  event_id     INTEGER,
  UNIQUE (member_id, week)                   -- a resubmission replaces the link
);
CREATE INDEX homework_week ON homework_submissions(week, submitted_at);

-- Every logical reminder the bot queued (group check-in reminder of a day, a nudge, a homework
-- reminder to one member): whatever replays a fan-out, a key is queued at most once.
CREATE TABLE reminders_sent (
  key        TEXT PRIMARY KEY,
  outbox_id  INTEGER,
  at         INTEGER NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'telegram',
    sql: `
-- Telegram updates already handled, per bot: a redelivered update (long polling after a crash,
-- a webhook retry) is dropped before it can send a second welcome or answer. Old rows are pruned.
CREATE TABLE telegram_updates (
  bot_id      TEXT NOT NULL,
  update_id   INTEGER NOT NULL,
  handled_at  INTEGER NOT NULL,
  PRIMARY KEY (bot_id, update_id)
);
CREATE INDEX telegram_updates_at ON telegram_updates(handled_at);

-- Chats (groups or people) the bot cannot reach: kicked from the group, blocked by the user.
-- Sends to them fail at once until the bot is added again or the person writes to it.
CREATE TABLE telegram_unreachable (
  bot_id   TEXT NOT NULL,
  chat_id  TEXT NOT NULL,
  reason   TEXT NOT NULL,
  at       INTEGER NOT NULL,
  PRIMARY KEY (bot_id, chat_id)
);
`,
  },
  {
    version: 6,
    name: 'orders',
    sql: `
-- Orders: one per checkout link. The id and the link token are random (never sequential), so
-- nobody can open or pay another member's order by guessing.
CREATE TABLE orders (
  id              TEXT PRIMARY KEY,
  token           TEXT NOT NULL UNIQUE,      -- the checkout link's secret part
  member_id       TEXT NOT NULL REFERENCES members(id),
  platform        TEXT NOT NULL,             -- where the buyer asked (their DMs go there)
  platform_id     TEXT NOT NULL,
  product_id      TEXT NOT NULL,
  currency        TEXT NOT NULL,             -- CNY (amounts in fen) or XTR (amounts in Stars)
  list_amount     INTEGER NOT NULL,
  amount          INTEGER NOT NULL,          -- after discounts: what the buyer pays
  discounts       TEXT NOT NULL DEFAULT '[]',-- JSON Discount[]
  code            TEXT,                      -- coupon/referral code entered at checkout
  state           TEXT NOT NULL CHECK (state IN ('created', 'paid', 'refunded', 'partially_refunded', 'expired', 'closed')),
  provider        TEXT,                      -- who took the money
  out_trade_no    TEXT,                      -- the attempt that paid
  transaction_id  TEXT,                      -- the provider's id of the payment
  paid_amount     INTEGER,
  refunded_amount INTEGER NOT NULL DEFAULT 0,
  payer_openid    TEXT,                      -- JSAPI: from the official account's OAuth
  stage_before    TEXT,                      -- restored when a full refund revokes access
  invoice_sent_at INTEGER,                   -- Telegram Stars: when the invoice went out
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  paid_at         INTEGER,
  closed_at       INTEGER,
  UNIQUE (provider, transaction_id)
);
CREATE INDEX orders_member ON orders(member_id, created_at);
CREATE INDEX orders_state ON orders(state, expires_at);
CREATE INDEX orders_product ON orders(product_id, state);

-- Each press of "pay" is an attempt with its own out_trade_no (a provider never accepts the same
-- out_trade_no with other parameters). Pending attempts are what reconciliation queries.
CREATE TABLE payment_attempts (
  out_trade_no   TEXT PRIMARY KEY,
  order_id       TEXT NOT NULL REFERENCES orders(id),
  provider       TEXT NOT NULL,
  method         TEXT NOT NULL,              -- jsapi | h5 | native | sandbox | stars
  amount         INTEGER NOT NULL,          -- the price when "pay" was pressed
  discounts      TEXT NOT NULL DEFAULT '[]',-- and the discounts and code that made it, so the
  code           TEXT,                      -- order records what was actually paid for
  state          TEXT NOT NULL CHECK (state IN ('pending', 'paid', 'closed', 'failed')),
  created_at     INTEGER NOT NULL,
  next_check_at  INTEGER NOT NULL,
  checks         INTEGER NOT NULL DEFAULT 0,
  last_result    TEXT
);
CREATE INDEX payment_attempts_due ON payment_attempts(state, next_check_at);
CREATE INDEX payment_attempts_order ON payment_attempts(order_id);

-- Every notification that passed verification, by the provider's id: a redelivery is answered
-- "success" and changes nothing.
CREATE TABLE payment_notifications (
  provider         TEXT NOT NULL,
  notification_id  TEXT NOT NULL,
  event_type       TEXT NOT NULL,
  order_id         TEXT,
  outcome          TEXT NOT NULL,
  received_at      INTEGER NOT NULL,
  PRIMARY KEY (provider, notification_id)
);

CREATE TABLE refunds (
  out_refund_no  TEXT PRIMARY KEY,
  order_id       TEXT NOT NULL REFERENCES orders(id),
  amount         INTEGER NOT NULL,
  reason         TEXT NOT NULL DEFAULT '',
  state          TEXT NOT NULL CHECK (state IN ('requested', 'processing', 'succeeded', 'failed')),
  requested_by   TEXT,                       -- member key of the staff member, or 'api' / 'provider'
  refund_id      TEXT,                       -- the provider's id
  created_at     INTEGER NOT NULL,
  finished_at    INTEGER,
  last_error     TEXT
);
CREATE INDEX refunds_state ON refunds(state, created_at);
CREATE INDEX refunds_order ON refunds(order_id);
`,
  },
  {
    version: 7,
    name: 'instructor tools',
    sql: `
-- Roles granted by an owner's /grant (config staff stay the source of owners and of their own roles).
CREATE TABLE staff_grants (
  member_id   TEXT PRIMARY KEY REFERENCES members(id),
  role        TEXT NOT NULL CHECK (role IN ('instructor', 'assistant')),
  granted_by  TEXT NOT NULL,                 -- member key of the owner
  granted_at  INTEGER NOT NULL
);
-- Every grant and revoke, kept for good.
CREATE TABLE role_changes (
  id         INTEGER PRIMARY KEY,
  member_id  TEXT NOT NULL,
  action     TEXT NOT NULL CHECK (action IN ('grant', 'revoke')),
  role       TEXT NOT NULL,
  by_member  TEXT NOT NULL,
  event_id   INTEGER,
  at         INTEGER NOT NULL
);

-- /announce and /remind: previews waiting for /confirm, scheduled and sent announcements.
CREATE TABLE announcements (
  id                  INTEGER PRIMARY KEY,
  kind                TEXT NOT NULL CHECK (kind IN ('announce', 'remind')),
  platform            TEXT NOT NULL,
  author_id           TEXT NOT NULL,         -- member key
  author_platform_id  TEXT NOT NULL,
  text                TEXT NOT NULL,
  targets             TEXT NOT NULL,         -- JSON: { groups: [handles], stages: [ids] }
  status              TEXT NOT NULL CHECK (status IN ('preview', 'scheduled', 'sending', 'done', 'cancelled', 'expired')),
  due_at              INTEGER,               -- NULL: at confirmation
  expires_at          INTEGER,               -- a preview not confirmed by then is void
  total               INTEGER NOT NULL DEFAULT 0,
  reported            INTEGER NOT NULL DEFAULT 0,  -- finished messages at the last progress report
  created_at          INTEGER NOT NULL,
  confirmed_at        INTEGER,
  started_at          INTEGER,
  finished_at         INTEGER,
  note                TEXT
);
CREATE INDEX announcements_status ON announcements(status, platform);
CREATE INDEX outbox_rule ON outbox(rule_id);

-- Groups where the bot is paused by /pause.
CREATE TABLE paused_groups (
  group_id   TEXT PRIMARY KEY,
  by_member  TEXT NOT NULL,
  at         INTEGER NOT NULL
);

-- Moderation: every warning, removal, deletion, pardon and appeal, with its evidence.
CREATE TABLE moderation_log (
  id         INTEGER PRIMARY KEY,
  member_id  TEXT NOT NULL,
  platform   TEXT NOT NULL,
  group_id   TEXT,
  action     TEXT NOT NULL CHECK (action IN ('warn', 'remove', 'pardon', 'appeal')),
  reason     TEXT NOT NULL,
  evidence   TEXT NOT NULL DEFAULT '',
  by_member  TEXT,                           -- NULL: the bot
  event_id   INTEGER,
  at         INTEGER NOT NULL
);
CREATE INDEX moderation_member ON moderation_log(member_id, id);
CREATE INDEX moderation_at ON moderation_log(at);

-- What the bot asks a platform to do besides sending (remove a member, delete a message):
-- queued in the event's transaction, carried out after commit, at most once.
CREATE TABLE platform_actions (
  id             INTEGER PRIMARY KEY,
  platform       TEXT NOT NULL,
  action         TEXT NOT NULL CHECK (action IN ('remove_member', 'delete_message', 'create_invite_link')),
  chat_id        TEXT NOT NULL,
  user_id        TEXT NOT NULL,
  message_id     TEXT,
  detail         TEXT,                          -- JSON, for create_invite_link: { name, memberId, groupId }
  moderation_id  INTEGER,
  status         TEXT NOT NULL CHECK (status IN ('pending', 'doing', 'done', 'failed', 'unsupported')),
  error          TEXT,
  created_at     INTEGER NOT NULL,
  done_at        INTEGER
);
CREATE INDEX platform_actions_pending ON platform_actions(status, platform);
`,
  },
  {
    version: 8,
    name: 'referrals',
    sql: `
-- Referral codes. A member has one active code; a replaced one (custom code set by the staff)
-- is retired and no longer accepted.
CREATE TABLE referral_codes (
  code        TEXT PRIMARY KEY,
  member_id   TEXT NOT NULL REFERENCES members(id),
  kind        TEXT NOT NULL CHECK (kind IN ('random', 'custom')),
  created_at  INTEGER NOT NULL,
  retired_at  INTEGER
);
CREATE UNIQUE INDEX referral_codes_active ON referral_codes(member_id) WHERE retired_at IS NULL;

-- Personal invite links (Telegram): a join through one of them names the referrer.
CREATE TABLE referral_invite_links (
  platform    TEXT NOT NULL,
  link        TEXT NOT NULL,
  member_id   TEXT NOT NULL REFERENCES members(id),
  group_id    TEXT,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (platform, link)
);
CREATE INDEX referral_invite_links_member ON referral_invite_links(member_id);

-- Every attribution attempt, accepted or refused, with its evidence: the audit trail.
CREATE TABLE referral_decisions (
  id           INTEGER PRIMARY KEY,
  referred_id  TEXT NOT NULL REFERENCES members(id),
  referrer_id  TEXT,
  source       TEXT NOT NULL CHECK (source IN ('inviter', 'invite_link', 'code', 'checkout')),
  accepted     INTEGER NOT NULL,
  reason       TEXT NOT NULL,
  evidence     TEXT NOT NULL,                -- JSON: code, link, group, order
  event_id     INTEGER,
  at           INTEGER NOT NULL
);
CREATE INDEX referral_decisions_referred ON referral_decisions(referred_id, at);

-- The one referrer of a member (first valid evidence wins).
CREATE TABLE referrals (
  referred_id  TEXT PRIMARY KEY REFERENCES members(id),
  referrer_id  TEXT NOT NULL REFERENCES members(id),
  source       TEXT NOT NULL,
  decision_id  INTEGER NOT NULL REFERENCES referral_decisions(id),
  at           INTEGER NOT NULL
);
CREATE INDEX referrals_referrer ON referrals(referrer_id);

-- Paid orders seen by the order hooks: "already paid" for later evidence, idempotent hooks.
CREATE TABLE referral_orders (
  order_id     TEXT PRIMARY KEY,
  member_id    TEXT NOT NULL REFERENCES members(id),
  paid_at      INTEGER NOT NULL,
  refunded_at  INTEGER
);
CREATE INDEX referral_orders_member ON referral_orders(member_id);

-- The reward ledger. A reversal is a new row pointing at the one it cancels; the cancelled row
-- keeps its amount and gets reversed_by. The partial unique indexes make a second active reward
-- for the same referred member (or tier) impossible, whatever the code above does.
CREATE TABLE referral_ledger (
  id           INTEGER PRIMARY KEY,
  referrer_id  TEXT NOT NULL REFERENCES members(id),
  referred_id  TEXT REFERENCES members(id),  -- NULL for tier bonuses
  order_id     TEXT,
  entry        TEXT NOT NULL CHECK (entry IN ('reward', 'tier_bonus', 'reversal')),
  kind         TEXT NOT NULL CHECK (kind IN ('cashback', 'coupon', 'free_session')),
  fen          INTEGER NOT NULL,             -- negative on reversals
  tier         INTEGER,
  note         TEXT NOT NULL DEFAULT '',
  reverses     INTEGER REFERENCES referral_ledger(id),
  reversed_by  INTEGER,
  paid_out_at  INTEGER,
  created_at   INTEGER NOT NULL
);
CREATE INDEX referral_ledger_referrer ON referral_ledger(referrer_id, id);
CREATE UNIQUE INDEX referral_ledger_one_reversal ON referral_ledger(reverses) WHERE reverses IS NOT NULL;
CREATE UNIQUE INDEX referral_ledger_active_reward ON referral_ledger(referred_id) WHERE entry = 'reward' AND reversed_by IS NULL;
CREATE UNIQUE INDEX referral_ledger_active_tier ON referral_ledger(referrer_id, tier) WHERE entry = 'tier_bonus' AND reversed_by IS NULL;
`,
  },
  {
    version: 9,
    name: 'dashboard',
    sql: `
-- What the operator spent on each acquisition source (referral, direct, group:<handle>), for ROI
-- on the dashboard. Entered on the dashboard or with \`kequn stats cost\`.
CREATE TABLE stats_costs (
  source      TEXT PRIMARY KEY,
  cost_fen    INTEGER NOT NULL CHECK (cost_fen >= 0),
  note        TEXT NOT NULL DEFAULT '',
  updated_at  INTEGER NOT NULL
);

-- One-time dashboard login links the bot sends an owner privately, and the sessions they open.
-- Only hashes of the secrets are kept: a copy of the database opens nothing.
CREATE TABLE dashboard_logins (
  token_hash  TEXT PRIMARY KEY,
  member_id   TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER
);
CREATE TABLE dashboard_sessions (
  id_hash     TEXT PRIMARY KEY,
  member_id   TEXT,                          -- NULL: opened with KEQUN_ADMIN_TOKEN
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);

-- The dashboard's queries filter by these times (each under 200 ms at 100,000 members and
-- 1,000,000 events: bench/dashboard.ts).
CREATE INDEX members_created ON members(created_at);
CREATE INDEX events_type_member_at ON events(type, member_id, at);
CREATE INDEX orders_paid ON orders(paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX questions_created ON questions(created_at);
CREATE INDEX checkins_member_day ON checkins(member_id, day, kind);
CREATE INDEX referrals_at ON referrals(at);
`,
  },
  {
    version: 10,
    name: 'privacy',
    sql: `
-- Privacy requests carried out (kequn member export / forget): when, for which member key. The
-- key is random, so the log itself names nobody; it proves a forget request was honoured.
CREATE TABLE privacy_requests (
  id         INTEGER PRIMARY KEY,
  member_id  TEXT NOT NULL,
  action     TEXT NOT NULL CHECK (action IN ('export', 'forget')),
  at         INTEGER NOT NULL
);
CREATE INDEX privacy_requests_member ON privacy_requests(member_id);
`,
  },
  {
    version: 11,
    name: 'dashboard_rollups',
    sql: `
-- Dashboard rollups (docs/dashboard.md, "Speed"): per-member summaries that the funnel, retention
-- and check-in sections aggregate instead of every transition, event and check-in row. Derived
-- data only, folded in when the dashboard is read (src/flows/dashboard/store/rollups.ts) from the
-- watermarks in dash_rollup_state: nothing on the message path writes them. Emptying these tables
-- and the state rebuilds them on the next read. Masks are sums of distinct powers of two (at most
-- 52 bits, so they stay exact as JavaScript numbers); BIGINT for PostgreSQL.
CREATE TABLE dash_rollup_state (
  name   TEXT PRIMARY KEY,                   -- transitions, events, questions: last id folded in;
  value  BIGINT NOT NULL                     -- checkins_at, joined_at: time folded up to; offset
);
-- One bit per stage name and per group handle ever seen (stable: config order plays no part).
CREATE TABLE dash_stage_flags (
  stage  TEXT PRIMARY KEY,
  flag   BIGINT NOT NULL UNIQUE
);
CREATE TABLE dash_group_flags (
  group_id  TEXT PRIMARY KEY,
  flag      BIGINT NOT NULL UNIQUE
);
-- Per member: first seen (the cohort key), the groups they ever joined, the stages they ever
-- entered, the stage they are in now (members.stage), the stage of their open stay (their latest
-- transition) and whether they entered some stage more than once (then their stays are counted
-- from dash_stays; otherwise from the stage set alone).
CREATE TABLE dash_members (
  member_id   TEXT PRIMARY KEY,
  created_at  BIGINT NOT NULL,
  groups      BIGINT NOT NULL DEFAULT 0,
  stages      BIGINT NOT NULL DEFAULT 0,
  stage       TEXT,
  open_stage  TEXT,
  repeats     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX dash_members_cohort ON dash_members(created_at, groups, stages, stage, open_stage, repeats);
CREATE INDEX dash_members_funnel ON dash_members(stages, stage, open_stage, repeats, created_at, groups);
CREATE INDEX dash_members_repeats ON dash_members(created_at) WHERE repeats = 1;
-- Every stay in a stage (a transition, until the member's next one): its length, NULL while it lasts.
CREATE TABLE dash_stays (
  member_id   TEXT NOT NULL,
  seq         BIGINT NOT NULL,               -- the stage_transitions id that began it
  stage       TEXT NOT NULL,
  created_at  BIGINT NOT NULL,               -- the member's, copied: the cohort filter needs no join
  groups      BIGINT NOT NULL,
  ms          BIGINT,
  PRIMARY KEY (member_id, seq)
);
CREATE INDEX dash_stays_cohort ON dash_stays(stage, created_at, groups, ms);
CREATE INDEX dash_stays_length ON dash_stays(stage, ms, created_at, groups);
-- The weeks (after the join week, local) a member was active in: bit k of chunk c = week 52c + k.
CREATE TABLE dash_weeks (
  member_id   TEXT NOT NULL,
  chunk       INTEGER NOT NULL,
  mask        BIGINT NOT NULL,
  created_at  BIGINT NOT NULL,
  join_week   INTEGER NOT NULL,
  groups      BIGINT NOT NULL,
  PRIMARY KEY (member_id, chunk)
);
CREATE INDEX dash_weeks_cohort ON dash_weeks(join_week, chunk, mask, created_at, groups);
-- Every check-in day (leave days too: they keep a streak going), with the member's groups and
-- the run of consecutive days it belongs to (days since 1970 minus its rank among the member's
-- days: the same number along a run), so a streak is a GROUP BY, not a window over the range.
CREATE TABLE dash_checkins (
  member_id  TEXT NOT NULL,
  day        TEXT NOT NULL,                  -- YYYY-MM-DD, local, as in checkins
  counted    INTEGER NOT NULL,               -- 1: a check-in or make-up; 0: a leave day
  groups     BIGINT NOT NULL,
  run        INTEGER NOT NULL,
  PRIMARY KEY (member_id, day)
);
CREATE INDEX dash_checkins_day ON dash_checkins(day, groups, counted, member_id, run);

-- The watermarks of rows without an id, and the dashboard's own reads.
CREATE INDEX memberships_joined ON memberships(joined_at);
CREATE INDEX memberships_group_joined ON memberships(group_id, joined_at);
CREATE INDEX checkins_at ON checkins(at);
CREATE INDEX members_created_stage ON members(created_at, stage);
CREATE INDEX memberships_first ON memberships(member_id, joined_at, group_id);  -- a buyer's first group
DROP INDEX members_created;                -- (migration 9) the index above covers it
`,
  },
  {
    version: 12,
    name: 'instances',
    sql: `
-- Several kequn processes on one PostgreSQL store (docs/deploy.md): each process is an instance
-- (KEQUN_INSTANCE) with its own accounts. On SQLite there is one instance.
CREATE TABLE instances (
  name          TEXT PRIMARY KEY,
  started_at    INTEGER NOT NULL,
  heartbeat_at  INTEGER NOT NULL,              -- every few seconds while it runs; stale = gone
  pid           INTEGER,
  host          TEXT
);
-- Which instance answers in and sends to a chat: a group's first instance to see it (or send to
-- it); a private chat's, the instance the member last wrote to. Taken over when its instance is
-- gone, by an instance that can reach the chat.
CREATE TABLE chat_owners (
  platform  TEXT NOT NULL,
  chat_id   TEXT NOT NULL,
  instance  TEXT NOT NULL,
  since     INTEGER NOT NULL,
  PRIMARY KEY (platform, chat_id)
);
CREATE INDEX chat_owners_instance ON chat_owners(instance);
-- Chats an instance's account can reach (it got an event from them or sent to them).
CREATE TABLE chat_reach (
  platform  TEXT NOT NULL,
  chat_id   TEXT NOT NULL,
  instance  TEXT NOT NULL,
  seen_at   INTEGER NOT NULL,
  PRIMARY KEY (platform, chat_id, instance)
);
-- The instance that claimed a send or platform action: its pacing and daily cap, and what to
-- mark uncertain if it dies mid-send.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE platform_actions ADD COLUMN claimed_by TEXT;
-- Telegram Stars: the instance whose bot was paid. Only that bot can refund the charge.
ALTER TABLE orders ADD COLUMN paid_by TEXT;
CREATE INDEX outbox_claimed ON outbox(claimed_by, status);
CREATE INDEX platform_actions_claimed ON platform_actions(claimed_by, status);
`,
  },
  {
    version: 13,
    name: 'code attempts',
    sql: `
-- Every code typed into a checkout page, accepted or refused: the audit trail, and the counts the
-- attempt limits per order, per member and per client address read (docs/payments.md). A coupon
-- or referral code cannot be found by guessing: past the limit no code is even looked at.
CREATE TABLE code_attempts (
  id         INTEGER PRIMARY KEY,
  order_id   TEXT NOT NULL,
  member_id  TEXT NOT NULL,
  client     TEXT NOT NULL,                 -- the client address the checkout page saw
  code       TEXT NOT NULL,                 -- as typed (at most 32 characters); the last one of a run of repeats
  outcome    TEXT NOT NULL CHECK (outcome IN ('accepted', 'refused', 'limited')),
  at         INTEGER NOT NULL,              -- the last attempt of a run of repeats
  -- Refusals past a limit in a row on one order are one row: a guesser hammering the page must
  -- not grow the store by a row per request (each is still logged).
  repeats    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX code_attempts_order ON code_attempts(order_id, outcome, at);
CREATE INDEX code_attempts_member ON code_attempts(member_id, outcome, at);
CREATE INDEX code_attempts_client ON code_attempts(client, outcome, at);
`,
  },
  {
    version: 14,
    name: 'flood',
    // The outbox's CHECK constraints change: SQLite rebuilds the table (the only way to change a
    // CHECK there); PostgreSQL swaps the constraints in place (a rebuild would leave the identity
    // sequence behind the copied ids).
    sql: `
-- Outbox lanes (docs/operations.md): urgent (a newcomer's welcome, a staff command's answer, a
-- login link), reply, then bulk (notices, escalations) and push (proactive: quiet hours hold it).
-- dropped: refused by the daily cap (last_error says why), kept as the record.
CREATE TABLE outbox_lanes (
  id           INTEGER PRIMARY KEY,
  platform     TEXT NOT NULL,
  chat_kind    TEXT NOT NULL CHECK (chat_kind IN ('group', 'dm')),
  chat_id      TEXT NOT NULL,
  member_id    TEXT,
  group_id     TEXT,
  text         TEXT NOT NULL,
  priority     TEXT NOT NULL CHECK (priority IN ('urgent', 'reply', 'bulk', 'push')),
  status       TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'uncertain', 'dry_run', 'dropped')),
  not_before   INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  event_id     INTEGER,
  rule_id      TEXT,
  created_at   INTEGER NOT NULL,
  sent_at      INTEGER,
  claimed_by   TEXT
);
INSERT INTO outbox_lanes (id, platform, chat_kind, chat_id, member_id, group_id, text, priority, status, not_before, attempts, last_error, event_id, rule_id, created_at, sent_at, claimed_by)
  SELECT id, platform, chat_kind, chat_id, member_id, group_id, text, priority, status, not_before, attempts, last_error, event_id, rule_id, created_at, sent_at, claimed_by FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_lanes RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox(status, not_before);
CREATE INDEX outbox_sent ON outbox(platform, sent_at);
CREATE INDEX outbox_chat ON outbox(chat_id, sent_at);
CREATE INDEX outbox_rule ON outbox(rule_id);
CREATE INDEX outbox_claimed ON outbox(claimed_by, status);
${floodCommon('INTEGER', 'INTEGER PRIMARY KEY')}`,
    postgres: `
ALTER TABLE outbox DROP CONSTRAINT outbox_priority_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_priority_check CHECK (priority IN ('urgent', 'reply', 'bulk', 'push'));
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'uncertain', 'dry_run', 'dropped'));
${floodCommon('BIGINT', 'BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY')}`,
  },
  {
    version: 15,
    name: 'private_channel',
    sql: `
-- The private channel per member and platform (docs/wechat.md, docs/telegram.md): a WeChat
-- personal account can message only its friends, a Telegram bot only users who pressed Start.
-- One row per private chat (the member's platform id); no row: kequn does not know yet.
CREATE TABLE private_channels (
  platform      TEXT NOT NULL,
  chat_id       TEXT NOT NULL,                 -- the person's platform id (their private chat)
  member_id     TEXT,                          -- NULL until kequn knows the member behind it
  state         TEXT NOT NULL CHECK (state IN ('open', 'closed', 'blocked')),
  how           TEXT NOT NULL,                 -- what the last change was (friend_request, start, blocked…)
  opened_at     INTEGER,                       -- when it first opened (NULL: never)
  changed_at    INTEGER NOT NULL,
  announced_at  INTEGER,                       -- when the channel.opened rules ran for the current opening
  source        TEXT,                          -- acquisition tag from a Telegram deep link (/start src-…)
  PRIMARY KEY (platform, chat_id)
);
CREATE INDEX private_channels_member ON private_channels(member_id);
CREATE INDEX private_channels_opened ON private_channels(opened_at);

-- Private messages to someone whose channel is not open: held here instead of the outbox, moved
-- into the outbox in order when it opens (same transaction), expired after the window
-- (private_channel.hold_for), dropped when the person blocked the bot.
CREATE TABLE held_messages (
  id          INTEGER PRIMARY KEY,
  platform    TEXT NOT NULL,
  chat_id     TEXT NOT NULL,
  member_id   TEXT,
  group_id    TEXT,
  text        TEXT NOT NULL,
  priority    TEXT NOT NULL,
  event_id    INTEGER,
  rule_id     TEXT,
  held_at     INTEGER NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('held', 'delivered', 'expired', 'dropped')),
  reason      TEXT NOT NULL,                 -- why it was held
  done_at     INTEGER,
  outbox_id   INTEGER,                       -- the outbox row it became, once delivered
  lesson      INTEGER                        -- the lesson it carries (send_lesson, a drip step)
);
CREATE INDEX held_messages_chat ON held_messages(platform, chat_id, state, id);
CREATE INDEX held_messages_state ON held_messages(state, held_at);
CREATE INDEX held_messages_member ON held_messages(member_id, held_at);

-- A drip sequence that counts from the channel's opening (sequences.<name>.count_from: channel),
-- started while the channel was not open: its steps are planned when it opens.
CREATE TABLE channel_waits (
  id          INTEGER PRIMARY KEY,
  member_id   TEXT NOT NULL,
  platform    TEXT NOT NULL,
  sequence    TEXT NOT NULL,
  group_id    TEXT,
  created_at  INTEGER NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('waiting', 'started', 'expired', 'cancelled')),
  done_at     INTEGER,
  note        TEXT
);
CREATE INDEX channel_waits_member ON channel_waits(member_id, platform, state);
CREATE INDEX channel_waits_state ON channel_waits(state, created_at);

-- WeChat friend requests: the policy's decision, then the paced acceptance (claimed before the
-- call, at most once), under a daily cap (private_channel.wechat).
CREATE TABLE friend_requests (
  id           INTEGER PRIMARY KEY,
  platform     TEXT NOT NULL,
  request_id   TEXT NOT NULL,                -- the platform's id of the request
  user_id      TEXT NOT NULL,
  user_name    TEXT NOT NULL DEFAULT '',
  greeting     TEXT NOT NULL DEFAULT '',
  received_at  INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'accepting', 'accepted', 'ignored', 'failed')),
  reason       TEXT NOT NULL,                -- the policy's reason (accept or ignore)
  accept_at    INTEGER,                      -- not before (random delay; moved to the next day by the cap)
  done_at      INTEGER,
  error        TEXT,
  received_by  TEXT,                         -- the instance whose account got it (only it can accept it)
  claimed_by   TEXT,
  UNIQUE (platform, request_id)
);
CREATE INDEX friend_requests_due ON friend_requests(status, accept_at);
CREATE INDEX friend_requests_accepted ON friend_requests(platform, status, done_at);

-- Invitations of the bot's account into groups: accepted only from staff (by platform id).
CREATE TABLE room_invites (
  id             INTEGER PRIMARY KEY,
  platform       TEXT NOT NULL,
  invitation_id  TEXT NOT NULL,
  inviter_id     TEXT NOT NULL,
  topic          TEXT NOT NULL DEFAULT '',
  received_at    INTEGER NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('accepting', 'accepted', 'declined', 'failed')),
  reason         TEXT NOT NULL,
  done_at        INTEGER,
  UNIQUE (platform, invitation_id)
);

-- Which lesson a private message carries (the funnel's "trial lesson delivered" step).
ALTER TABLE outbox ADD COLUMN lesson INTEGER;
CREATE INDEX outbox_lessons ON outbox(member_id) WHERE lesson IS NOT NULL;

-- Before this migration every private message was simply sent: whoever got one then had an
-- open channel (and was welcomed already).
INSERT INTO private_channels (platform, chat_id, member_id, state, how, opened_at, changed_at, announced_at)
SELECT platform, chat_id, MAX(member_id), 'open', 'delivered', MIN(sent_at), MIN(sent_at), MIN(sent_at)
FROM outbox WHERE chat_kind = 'dm' AND status = 'sent' AND sent_at IS NOT NULL GROUP BY platform, chat_id;
`,
  },
  {
    version: 16,
    name: 'telegram invoice failures',
    sql: `
-- Why a Telegram Stars invoice could not be sent (NULL: sent, or not tried yet). The member's
-- next /buy of the same open order clears it and the invoice is sent afresh.
ALTER TABLE orders ADD COLUMN invoice_error TEXT;
`,
  },
  {
    version: 17,
    name: 'qa-clarify',
    sql: `
-- Clarification menus (src/flows/qa/clarify.ts): a question the bot was not sure about, answered
-- with "你想问的是哪一个？1 … 2 …". One open menu per member; a number from the same member in the
-- same chat (or privately) before closes_at picks the entry.
CREATE TABLE qa_menus (
  id           INTEGER PRIMARY KEY,
  question_id  INTEGER NOT NULL,
  member_id    TEXT NOT NULL,
  platform     TEXT NOT NULL,
  group_id     TEXT,                         -- NULL when asked in private
  chat_id      TEXT NOT NULL,                -- where the menu was sent
  choices      TEXT NOT NULL,                -- JSON: entry ids, in the menu's order
  created_at   INTEGER NOT NULL,
  closes_at    INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('open', 'picked', 'replaced')),
  picked       TEXT                          -- the entry id chosen
);
CREATE INDEX qa_menus_member ON qa_menus(member_id, status);
CREATE INDEX qa_menus_group ON qa_menus(group_id, created_at);
CREATE INDEX qa_menus_created ON qa_menus(member_id, created_at);

-- Who taught the knowledge base what: an instructor's answer (staff) or a member's pick from a
-- menu (choice); a learned row can be removed (it stays, marked, for the record).
ALTER TABLE faq_learned ADD COLUMN via TEXT NOT NULL DEFAULT 'staff';
ALTER TABLE faq_learned ADD COLUMN taught_by TEXT;
ALTER TABLE faq_learned ADD COLUMN removed_at INTEGER;
ALTER TABLE faq_learned ADD COLUMN removed_by TEXT;
CREATE INDEX faq_learned_taught ON faq_learned(taught_by, created_at);

-- Embeddings of FAQ phrasings from the LLM endpoint (src/flows/qa/embeddings.ts), by model and
-- text, so a restart or an FAQ edit embeds only what is new.
CREATE TABLE qa_vectors (
  model       TEXT NOT NULL,
  text_hash   TEXT NOT NULL,                 -- sha256 of the text, base64url, 32 characters
  dims        INTEGER NOT NULL,
  vector      TEXT NOT NULL,                 -- float32 little-endian, base64
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (model, text_hash)
);
`,
  },
  {
    version: 18,
    name: 'cohort membership',
    sql: `
-- Which cohort (期) each member is in (src/flows/cohorts/store.ts): set when they join a group of
-- a cohort or pay for a seat of one, changed by a deferral (延期/转期). One row per member.
CREATE TABLE cohort_members (
  member_id  TEXT PRIMARY KEY REFERENCES members(id),
  cohort_id  TEXT NOT NULL,
  source     TEXT NOT NULL,                  -- group | order | defer
  since      INTEGER NOT NULL
);
CREATE INDEX cohort_members_cohort ON cohort_members(cohort_id);

-- Every move between cohorts, with its reason: the history a deferral keeps.
CREATE TABLE cohort_moves (
  id           INTEGER PRIMARY KEY,
  member_id    TEXT NOT NULL REFERENCES members(id),
  from_cohort  TEXT,
  to_cohort    TEXT NOT NULL,
  reason       TEXT NOT NULL,
  by_member    TEXT,                         -- the staff member who moved them (NULL: a join or a payment)
  at           INTEGER NOT NULL
);
CREATE INDEX cohort_moves_member ON cohort_moves(member_id, at);

-- A member's request to move to a later cohort (「申请延期」), until staff approve or refuse it.
CREATE TABLE cohort_requests (
  id           INTEGER PRIMARY KEY,
  member_id    TEXT NOT NULL REFERENCES members(id),
  from_cohort  TEXT NOT NULL,
  to_cohort    TEXT NOT NULL,
  reason       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),
  created_at   INTEGER NOT NULL,
  decided_by   TEXT,
  decided_at   INTEGER
);
CREATE INDEX cohort_requests_status ON cohort_requests(status, id);
CREATE INDEX cohort_requests_member ON cohort_requests(member_id, status);

-- The cohort whose seat an order sells (NULL: the course has no cohorts, or an order from before).
ALTER TABLE orders ADD COLUMN cohort_id TEXT;
CREATE INDEX orders_cohort ON orders(cohort_id, state);
`,
  },
  {
    version: 19,
    name: 'write path indexes',
    sql: `
-- Fewer index pages per event (issue 20; bench/wal-pages.ts counts them). Every message wrote
-- three secondary entries into events; the readers need two: by member (history, moderation,
-- privacy, the dashboard's activity, all with member_id = ?, most with type and a time) and by
-- type and time (the staff's /stats). One index by member, type and time replaces the two by member.
DROP INDEX events_member;
DROP INDEX events_type_member_at;
CREATE INDEX events_member_type ON events(member_id, type, at);
-- questions(status, created_at) had one reader, the repeat check (status 'answered' since a recent
-- time, in one chat), which reads the few rows since that time through questions(created_at); and
-- every answered or escalated question rewrote its entry when its status changed.
DROP INDEX questions_status;
-- The rules an event's handling checked that did not match, packed (src/store/traces.ts), one
-- line per run of the rules: written into the event's own row, whose page the event's insert has
-- just written, instead of a rule_traces row and its index entry. Rules that fired keep their
-- rule_traces rows; jobs keep theirs. Older events keep theirs in rule_traces (rule_id '*').
ALTER TABLE events ADD COLUMN unmatched TEXT;
`,
  },
  {
    version: 20,
    name: 'join page',
    sql: `
-- The join page (群活码, src/flows/join, docs/join.md). A group's current QR code on WeChat: an
-- image staff uploaded (kept as a file under the data folder; \`file\` is its name there) or the
-- text the puppet gave for the room's QR (rendered on the page). Never served after expires_at.
CREATE TABLE join_qr (
  id           INTEGER PRIMARY KEY,
  group_id     TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('upload', 'puppet')),
  file         TEXT,                          -- upload: the file's name under the QR folder
  mime         TEXT,                          -- upload: image/png or image/jpeg
  qr_text      TEXT,                          -- puppet: what the room's QR code encodes
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  reminded_at  INTEGER,                       -- staff were told it is about to expire
  created_by   TEXT                           -- the member who uploaded it (NULL: the admin token, the puppet)
);
CREATE INDEX join_qr_group ON join_qr(group_id, expires_at);

-- Telegram invite links kequn made for a group and a channel ('' none): a join through one is
-- that channel's, exactly.
CREATE TABLE join_links (
  platform    TEXT NOT NULL,
  group_id    TEXT NOT NULL,
  channel     TEXT NOT NULL,
  url         TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (platform, group_id, channel)
);
CREATE UNIQUE INDEX join_links_url ON join_links(platform, url);

-- Page views that handed out a group (one per client, pool and channel per match window): the
-- channel's views on the dashboard, and on WeChat what a join is matched to (matched_member).
CREATE TABLE join_views (
  id              INTEGER PRIMARY KEY,
  pool            TEXT NOT NULL,
  group_id        TEXT NOT NULL,
  channel         TEXT NOT NULL,             -- '' none
  client          TEXT NOT NULL,             -- a hash of the client's address, not the address
  at              INTEGER NOT NULL,
  matched_member  TEXT
);
CREATE INDEX join_views_group ON join_views(group_id, at);
CREATE INDEX join_views_client ON join_views(client, pool, channel, at);

-- Members a join was credited to a channel: how (the invite link: exact; a page view shortly
-- before: a guess) and through which group. One channel per member, the first.
CREATE TABLE join_attributions (
  member_id   TEXT PRIMARY KEY,
  channel     TEXT NOT NULL,
  group_id    TEXT NOT NULL,
  how         TEXT NOT NULL CHECK (how IN ('invite_link', 'page_view')),
  view_id     INTEGER,
  at          INTEGER NOT NULL
);
CREATE INDEX join_attributions_channel ON join_attributions(channel, at);

-- What staff were last told about a pool (ok, low, full, no_qr): told once per crossing.
CREATE TABLE join_pool_state (
  pool        TEXT PRIMARY KEY,
  state       TEXT NOT NULL,
  changed_at  INTEGER NOT NULL
);
`,
  },
  {
    version: 21,
    name: 'timeline',
    sql: `
-- The group timeline (src/flows/timeline): what became of each occurrence of an entry for a
-- cohort. The row is the exactly-once claim: a job (or a re-planned one) that finds it does not
-- send again. occurrence is 'once' for a one-off entry, else its local day (YYYY-MM-DD).
CREATE TABLE timeline_marks (
  cohort_id   TEXT NOT NULL,
  entry_id    TEXT NOT NULL,
  occurrence  TEXT NOT NULL,
  mark        TEXT NOT NULL CHECK (mark IN ('sent', 'skip', 'paused')),
  by_member   TEXT,                          -- who asked for a skip
  at          INTEGER NOT NULL,
  PRIMARY KEY (cohort_id, entry_id, occurrence)
);

-- Entries staff paused from chat (/timeline pause): for one cohort, or '*' for every cohort.
CREATE TABLE timeline_pauses (
  entry_id    TEXT NOT NULL,
  cohort_id   TEXT NOT NULL,
  by_member   TEXT,
  at          INTEGER NOT NULL,
  PRIMARY KEY (entry_id, cohort_id)
);
`,
  },
  {
    version: 22,
    name: 'existing group members',
    sql: `
-- Members kequn found already in a group (src/flows/import): read from the platform's member list
-- at login or on /sync, recorded without a welcome. One row per member (the first import that
-- made them known to kequn); the funnel and "new members" leave them out of the arrivals.
CREATE TABLE member_imports (
  member_id    TEXT PRIMARY KEY,
  platform     TEXT NOT NULL,
  group_id     TEXT NOT NULL,                -- the group they were found in first
  stage        TEXT NOT NULL,                -- the stage the import gave them
  imported_at  INTEGER NOT NULL
);
CREATE INDEX member_imports_at ON member_imports(imported_at);

-- Each reading of the member lists: at login, or asked for with /sync (pending until the worker
-- has read the lists; its counts are then sent to whoever asked).
CREATE TABLE member_import_runs (
  id            INTEGER PRIMARY KEY,
  platform      TEXT NOT NULL,
  cause         TEXT NOT NULL CHECK (cause IN ('login', 'sync')),
  reply_kind    TEXT,                        -- where the counts go (sync): 'group' or 'dm'
  reply_id      TEXT,
  requested_at  INTEGER NOT NULL,
  done_at       INTEGER,
  result        TEXT                         -- JSON counts
);
CREATE INDEX member_import_runs_pending ON member_import_runs(done_at);
`,
  },
  {
    version: 23,
    name: 'external shop payments',
    sql: `
-- Products sold in a shop the seller already uses (docs/loyalty.md): the member's personal link
-- (/go/<token>) counts its clicks before redirecting to the shop.
ALTER TABLE orders ADD COLUMN shop_clicks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN shop_clicked_at INTEGER;

-- Payments taken outside kequn's providers: a shop's signed callback (provider shop:<shop>, the
-- shop's order id as reference: a second delivery is refused and changes nothing) or a staff
-- /paid (provider staff). Recorded, then applied to the order with its order.paid event.
CREATE TABLE shop_payments (
  provider     TEXT NOT NULL,
  reference    TEXT NOT NULL,
  order_id     TEXT NOT NULL REFERENCES orders(id),
  amount       INTEGER NOT NULL,
  note         TEXT NOT NULL DEFAULT '',
  recorded_by  TEXT,                         -- the staff member of a /paid
  state        TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'already')),
  created_at   INTEGER NOT NULL,
  applied_at   INTEGER,
  PRIMARY KEY (provider, reference)
);
CREATE INDEX shop_payments_state ON shop_payments(state, created_at);
CREATE INDEX shop_payments_order ON shop_payments(order_id);
`,
  },
  {
    version: 24,
    name: 'recommendations',
    sql: `
-- Next-course recommendations the bot sent (src/flows/recommend/): one row per message, with the
-- product, its rank score and the reason the member read. "Sent → bought" is a query over orders
-- (a paid order of the product by the member after sent_at), not a column kept in step.
CREATE TABLE recommendations (
  id          INTEGER PRIMARY KEY,
  member_id   TEXT NOT NULL REFERENCES members(id),
  product_id  TEXT NOT NULL,
  reason      TEXT NOT NULL,
  score       REAL NOT NULL,
  rule_id     TEXT,
  sent_at     INTEGER NOT NULL
);
CREATE INDEX recommendations_member ON recommendations(member_id, sent_at);
CREATE INDEX recommendations_sent ON recommendations(sent_at);

-- Members who said 退订 (or /unsubscribe): no recommendation reaches them until they say 订阅.
CREATE TABLE recommend_optouts (
  member_id  TEXT PRIMARY KEY REFERENCES members(id),
  at         INTEGER NOT NULL
);
`,
  },
  {
    version: 25,
    name: 'posters',
    sql: `
-- An outbox message may carry an image (a file the server drew, e.g. a referral poster under the
-- data folder's posters/): the adapter sends it as a photo, with \`text\` as its caption (empty: none).
-- A held private message keeps its image until the channel opens.
ALTER TABLE outbox ADD COLUMN image TEXT;
ALTER TABLE held_messages ADD COLUMN image TEXT;

-- Poster requests (src/flows/posters): /海报 records one in the event's transaction; the posters
-- worker draws the image outside it (rendering is asynchronous) and queues the photo, marking
-- the request done in the same transaction.
CREATE TABLE poster_requests (
  id              INTEGER PRIMARY KEY,
  member_id       TEXT NOT NULL,
  platform        TEXT NOT NULL,
  chat_id         TEXT NOT NULL,               -- the member's private chat
  settings_group  TEXT,                        -- the group whose dry-run setting applies
  event_id        INTEGER,
  rule_id         TEXT,
  created_at      INTEGER NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'drawing', 'done', 'failed')),
  done_at         INTEGER,
  outbox_id       INTEGER,
  error           TEXT
);
CREATE INDEX poster_requests_status ON poster_requests(status, id);
CREATE INDEX poster_requests_member ON poster_requests(member_id, created_at);
`,
  },
  {
    version: 26,
    name: 'status counts',
    // Triggers keep the counts in the writing transaction, whoever writes (the engine's batch,
    // the sender, privacy, pauses, another process): /healthz reads a few rows instead of a GROUP
    // BY over the whole outbox and jobs (docs/operations.md, "/healthz").
    sql: `
-- Rows of the outbox and jobs per status, and the members (status ''). On SQLite (one writer)
-- the triggers update these rows in place.
CREATE TABLE status_counts (
  tbl     TEXT NOT NULL,                   -- outbox, jobs, members
  status  TEXT NOT NULL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (tbl, status)
);
INSERT INTO status_counts (tbl, status, n) SELECT 'outbox', status, COUNT(*) FROM outbox GROUP BY status;
INSERT INTO status_counts (tbl, status, n) SELECT 'jobs', status, COUNT(*) FROM jobs GROUP BY status;
INSERT INTO status_counts (tbl, status, n) SELECT 'members', '', COUNT(*) FROM members;
${sqliteCountTriggers('outbox')}
${sqliteCountTriggers('jobs')}
CREATE TRIGGER members_count_insert AFTER INSERT ON members BEGIN
  INSERT INTO status_counts (tbl, status, n) VALUES ('members', '', 1) ON CONFLICT (tbl, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER members_count_delete AFTER DELETE ON members BEGIN
  INSERT INTO status_counts (tbl, status, n) VALUES ('members', '', -1) ON CONFLICT (tbl, status) DO UPDATE SET n = n - 1;
END;
`,
    // PostgreSQL: a row updated many times in one transaction grows a version chain that every
    // later update walks (a fan-out of 100,000 messages took 150 s), and several processes would
    // queue on it. So the triggers append deltas (no index, no conflict) and compactDeltas
    // (src/store/status-counts.ts, every heartbeat) folds them into status_counts.
    postgres: `
CREATE TABLE status_counts (
  tbl     TEXT NOT NULL,
  status  TEXT NOT NULL,
  n       BIGINT NOT NULL,
  PRIMARY KEY (tbl, status)
);
CREATE TABLE status_deltas (
  tbl     TEXT NOT NULL,
  status  TEXT NOT NULL,
  n       BIGINT NOT NULL
);
INSERT INTO status_counts (tbl, status, n) SELECT 'outbox', status, COUNT(*) FROM outbox GROUP BY status;
INSERT INTO status_counts (tbl, status, n) SELECT 'jobs', status, COUNT(*) FROM jobs GROUP BY status;
INSERT INTO status_counts (tbl, status, n) SELECT 'members', '', COUNT(*) FROM members;
CREATE FUNCTION kequn_count_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO status_deltas (tbl, status, n) VALUES (TG_TABLE_NAME, NEW.status, 1);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO status_deltas (tbl, status, n) VALUES (TG_TABLE_NAME, OLD.status, -1);
  ELSE
    INSERT INTO status_deltas (tbl, status, n) VALUES (TG_TABLE_NAME, OLD.status, -1), (TG_TABLE_NAME, NEW.status, 1);
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION kequn_count_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO status_deltas (tbl, status, n) VALUES ('members', '', CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END);
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_count AFTER INSERT OR DELETE ON outbox FOR EACH ROW EXECUTE FUNCTION kequn_count_status();
CREATE TRIGGER outbox_count_status AFTER UPDATE OF status ON outbox FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION kequn_count_status();
CREATE TRIGGER jobs_count AFTER INSERT OR DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION kequn_count_status();
CREATE TRIGGER jobs_count_status AFTER UPDATE OF status ON jobs FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION kequn_count_status();
CREATE TRIGGER members_count AFTER INSERT OR DELETE ON members FOR EACH ROW EXECUTE FUNCTION kequn_count_members();
`,
  },
  {
    version: 27,
    name: 'outbox owner',
    // Which instance sends a queued message: its chat's owner (chat_owners) when it was queued,
    // so a sender reads only its own rows and the unowned ones (src/store/outbox.ts pendingHeads)
    // instead of every instance's backlog. SQLite has one process, which sends everything: the
    // column stays empty there and nothing reads it.
    sql: `
ALTER TABLE outbox ADD COLUMN owner TEXT;
`,
    postgres: `
ALTER TABLE outbox ADD COLUMN owner TEXT;
UPDATE outbox SET owner = c.instance FROM chat_owners c WHERE c.platform = outbox.platform AND c.chat_id = outbox.chat_id AND outbox.status = 'pending';
-- The heads of one owner's queues (and, with owner IS NULL, of the unowned ones): pending rows only.
CREATE INDEX outbox_owned_heads ON outbox(owner, platform, priority, chat_id, member_id) INCLUDE (id) WHERE status = 'pending';
-- Filled at insert from chat_owners, whoever inserts (the engine's batch, a held message moving
-- in): the writers need not know. A chat that changes owner takes its pending rows with it
-- (src/store/cluster.ts); a row queued while its chat moved is handed over by the sender that
-- finds it (pendingHeads) or, when its owner is gone, at the next heartbeat.
CREATE FUNCTION kequn_outbox_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.owner IS NULL AND NEW.status = 'pending' THEN
    SELECT instance INTO NEW.owner FROM chat_owners WHERE platform = NEW.platform AND chat_id = NEW.chat_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER outbox_owner BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION kequn_outbox_owner();
`,
  },
  {
    version: 28,
    name: 'join qr images',
    sql: `
-- An uploaded group QR image of the join page (src/flows/join), kept in the store so that every
-- kequn instance serves it (it was a file under join.qr_dir, on one machine's disk). One row per
-- join_qr upload row; capped at 1 MB, as the upload is.
CREATE TABLE join_qr_images (
  qr_id  INTEGER PRIMARY KEY REFERENCES join_qr(id),
  bytes  BLOB NOT NULL CHECK (length(bytes) <= 1048576)
);
`,
  },
  {
    version: 29,
    name: 'chat owners by change time',
    sql: `
-- Each instance keeps the chat owners it has read and, at every heartbeat, reads again only
-- those whose owner changed lately (a claim, a move, a takeover: each sets since), instead of
-- reading every group's owner again at its next event (src/bot/cluster.ts, issue 20).
CREATE INDEX chat_owners_since ON chat_owners(since);
`,
  },
  {
    version: 30,
    name: 'members by creation time',
    sql: `
-- members(created_at, stage) had its entry rewritten whenever a rule moved a member's stage, one
-- more WAL page in such an event's commit (issue 20, bench/wal-pages.ts). Its readers need the
-- time only (the dashboard's cohort and rollups: created_at ranges); the stage made it cover the
-- staff's count per stage (/stats), which now reads the members table instead, as rarely.
DROP INDEX members_created_stage;
CREATE INDEX members_created ON members(created_at);
`,
  },
  {
    version: 31,
    name: 'answered questions by chat',
    sql: `
-- The Q&A's repeat check (an entry just answered in this chat stays silent, qa.repeat_cooldown)
-- read every question since the cooldown's start through questions(created_at), in all chats:
-- 1,200 rows per question at 2 questions/s and 10 minutes, 55 % of a question's handling (issue
-- 20). Only answered questions are in this index, so a question answered from the FAQ adds one
-- entry and the others none; the check is one seek.
CREATE INDEX questions_answered ON questions(chat_id, entry_id, created_at) WHERE status = 'answered';
`,
  },
];

/** SQLite triggers that keep status_counts in step with `table`'s rows per status (migration 26). */
function sqliteCountTriggers(table: 'outbox' | 'jobs'): string {
  const add = (row: 'NEW' | 'OLD', d: '+' | '-') =>
    `INSERT INTO status_counts (tbl, status, n) VALUES ('${table}', ${row}.status, ${d}1) ON CONFLICT (tbl, status) DO UPDATE SET n = n ${d} 1;`;
  return `CREATE TRIGGER ${table}_count_insert AFTER INSERT ON ${table} BEGIN
  ${add('NEW', '+')}
END;
CREATE TRIGGER ${table}_count_update AFTER UPDATE OF status ON ${table} WHEN OLD.status <> NEW.status BEGIN
  ${add('OLD', '-')}
  ${add('NEW', '+')}
END;
CREATE TRIGGER ${table}_count_delete AFTER DELETE ON ${table} BEGIN
  ${add('OLD', '-')}
END;`;
}
