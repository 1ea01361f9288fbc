import { parseArgs } from 'node:util';
import { termSafe } from '../util/display-text.js';
import { DEFAULT_THRESHOLD } from '../flows/qa/policy.js';

const USAGE = `kequn — runs a course seller's WeChat and Telegram groups

Usage:
  kequn start [--config DIR]                 start the bot, the web playground and /healthz
  kequn test [--config DIR] FILE_OR_DIR...   play conversation tests (see docs/scenarios.md)
  kequn test --store postgres://... PATH     the same, each scenario on a fresh PostgreSQL database there
  kequn check [--config DIR]                 validate the configuration
  kequn why <member> [--config DIR] [--limit N]
                                             why rules did or did not fire for a member
  kequn referrals export --csv [--mark-paid] [--config DIR]
                                             referral rewards not yet paid out, as CSV (docs/referrals.md)
  kequn referrals list [--config DIR]        referral rewards per referrer
  kequn poster <member> --out FILE.png [--platform wechat|telegram] [--config DIR]
                                             draw a member's referral poster (docs/posters.md)
  kequn poster --demo --out FILE.png         the same for a made-up member, without a store
  kequn orders [--config DIR] [--state S] [--limit N]
                                             orders by state (docs/payments.md)
  kequn backup FILE [--config DIR]          online copy of the store, safe while kequn runs (docs/operations.md)
  kequn restore FILE [--config DIR]         replace the store with a backup (stop kequn first)
  kequn migrate [--config DIR]              apply pending store migrations (SQLite, or PostgreSQL at DATABASE_URL)
  kequn copy-store --from sqlite:FILE --to postgres://...
                                             move a SQLite store into an empty PostgreSQL database (stop kequn
                                             first; --to defaults to DATABASE_URL; docs/postgresql.md)
  kequn instances [--config DIR]            the kequn processes on this store: running or gone, chats, waiting
                                             messages (several on PostgreSQL: docs/deploy.md)
  kequn instances retire NAME                an instance that will not come back: its chats go to others
  kequn member export <member> [--config DIR] everything stored about a member, as JSON
  kequn member forget <member id>            erase a member's personal data, keep their orders
  kequn member show <member> [--config DIR]  the member's profile (画像): stage history, check-ins, homework,
                                             questions, purchases, referrals (docs/recommendations.md)
  kequn recommend <member> [--config DIR]    the next courses ranked for a member, with reasons
  kequn recommend --stats [--config DIR]     repeat purchases, revenue per member per cohort, recommendations → bought
  kequn stats [--group G] [--cohort ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json] [--config DIR]
                                             funnel, revenue, retention, check-ins, referrals, Q&A (docs/dashboard.md)
  kequn stats cost [SOURCE YUAN|none]        cost of an acquisition source (referral, direct, group:<handle>), for ROI
  kequn digest [--date YYYY-MM-DD] [--config DIR]
                                             the staff's daily digest of that day (default yesterday; docs/digest.md)
  kequn eval-qa --bank FILE --queries FILE [--split dev|heldout] [--misses] [--json] [--threshold X] [--llm]
                                             measure Q&A retrieval and the answer/menu/escalate policy
                                             on an FAQ bank (JSON Lines or faq.yaml; --llm: through the
                                             endpoint in OPENAI_API_KEY/OPENAI_BASE_URL; docs/qa.md)
  kequn faq list [--limit N] [--config DIR]  what the knowledge base learned, who taught it (docs/qa.md)
  kequn faq export [--config DIR]            the knowledge base as the bot answers from it, as a bank for eval-qa
  kequn timeline [--cohort ID] [--config DIR] what the group timeline (timeline.yaml) sends when, per cohort, in
                                             local time, with what was sent, skipped or paused (docs/timeline.md)
  kequn help                                 this text

Environment: KEQUN_CONFIG (the course folder when --config is not given), KEQUN_DATA (SQLite file) or DATABASE_URL (PostgreSQL), KEQUN_INSTANCE and
KEQUN_TAKEOVER_AFTER (several processes on one PostgreSQL), KEQUN_HOST / KEQUN_PORT (web server),
KEQUN_ALLOWED_HOSTS / KEQUN_TRUST_PROXY (host names, proxies: docs/operations.md), KEQUN_STAGING=1 (sandbox beside a real account),
WECHATY_PUPPET_SERVICE_TOKEN (+ _ENDPOINT) for a real WeChat account, KEQUN_LOG_LEVEL;
payments: KEQUN_PUBLIC_URL, WECHATPAY_PRIVATE_KEY(_FILE), WECHATPAY_APIV3_KEY(_FILE),
WECHAT_MP_SECRET, KEQUN_ADMIN_TOKEN (docs/payments.md; also opens /dashboard).`;

/** The course folder when --config is not given: KEQUN_CONFIG, else config/ of the current directory. */
function defaultConfigDir(): string {
  return process.env.KEQUN_CONFIG?.trim() || 'config';
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Everything printed passes termSafe: names and messages are typed by members, and a control
  // character or bidi override must not reach the operator's terminal (src/util/display-text.ts).
  const write = (line: string) => process.stdout.write(termSafe(line) + '\n');
  const parsed = () =>
    parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        store: { type: 'string' },
        limit: { type: 'string' },
        misses: { type: 'boolean' },
        json: { type: 'boolean' },
        threshold: { type: 'string' },
        state: { type: 'string' },
        csv: { type: 'boolean' },
        'mark-paid': { type: 'boolean' },
        bank: { type: 'string' },
        queries: { type: 'string' },
        split: { type: 'string' },
        llm: { type: 'boolean' },
        group: { type: 'string' },
        stats: { type: 'boolean' },
        from: { type: 'string' },
        to: { type: 'string' },
        cohort: { type: 'string' },
        date: { type: 'string' },
        out: { type: 'string', short: 'o' },
        demo: { type: 'boolean' },
        platform: { type: 'string' },
      },
    });
  // Commands are loaded on demand: `check` should not pay for loading Wechaty.
  try {
    switch (command) {
      case 'start':
      {
        // Loaded on demand: the web server and platform SDKs are not needed by test/check/why.
        const { runStart } = await import('./start.js');
        return await runStart({ configDir: parsed().values.config ?? defaultConfigDir() });
      }
      case 'test': {
        const a = parsed();
        const { runScenarioCommand } = await import('../testing/runner.js');
        return await runScenarioCommand(a.positionals, { configDir: a.values.config ?? defaultConfigDir(), write, store: a.values.store });
      }
      case 'check': {
        const { runCheck } = await import('./check.js');
        return runCheck({ configDir: parsed().values.config ?? defaultConfigDir(), write });
      }
      case 'why': {
        const a = parsed();
        if (a.positionals.length !== 1) {
          write('usage: kequn why <member> [--config DIR] [--limit N]   (member: id, WeChat id or display name)');
          return 2;
        }
        const limit = a.values.limit !== undefined ? Number(a.values.limit) : 20;
        if (!Number.isInteger(limit) || limit < 1) {
          write('--limit takes a positive whole number');
          return 2;
        }
        const { runWhy } = await import('./why.js');
        return runWhy({ configDir: a.values.config ?? defaultConfigDir(), query: a.positionals[0]!, limit, write });
      }
      case 'referrals': {
        const a = parsed();
        const { runReferrals } = await import('./referrals.js');
        return runReferrals({
          configDir: a.values.config ?? defaultConfigDir(),
          action: a.positionals[0] ?? '',
          csv: a.values.csv ?? false,
          markPaid: a.values['mark-paid'] ?? false,
          write,
        });
      }
      case 'poster': {
        const a = parsed();
        const { runPoster } = await import('./poster.js');
        return await runPoster({ configDir: a.values.config ?? defaultConfigDir(), query: a.positionals[0], demo: a.values.demo ?? false, out: a.values.out, platform: a.values.platform, write });
      }
      case 'orders': {
        const a = parsed();
        const limit = a.values.limit !== undefined ? Number(a.values.limit) : 30;
        if (!Number.isInteger(limit) || limit < 1) {
          write('--limit takes a positive whole number');
          return 2;
        }
        const { runOrders } = await import('./orders.js');
        return runOrders({ configDir: a.values.config ?? defaultConfigDir(), state: a.values.state, limit, write });
      }
      case 'migrate': {
        const { runMigrate } = await import('./migrate.js');
        return runMigrate({ configDir: parsed().values.config ?? defaultConfigDir(), write });
      }
      case 'instances': {
        const a = parsed();
        const [sub, name, ...more] = a.positionals;
        const configDir = a.values.config ?? defaultConfigDir();
        if (sub === undefined) {
          const { runInstances } = await import('./instances.js');
          return runInstances({ configDir, write });
        }
        if (sub !== 'retire' || !name || more.length > 0) {
          write('usage: kequn instances [retire NAME] [--config DIR]');
          return 2;
        }
        const { runRetireInstance } = await import('./instances.js');
        return runRetireInstance({ configDir, name, write });
      }
      case 'copy-store': {
        const a = parsed();
        if (a.positionals.length > 0) {
          write('usage: kequn copy-store --from sqlite:FILE --to postgres://...');
          return 2;
        }
        const { runCopyStore } = await import('./copy-store.js');
        return runCopyStore({ from: a.values.from, to: a.values.to, write });
      }
      case 'backup':
      case 'restore': {
        const a = parsed();
        if (a.positionals.length !== 1) {
          write(`usage: kequn ${command} FILE [--config DIR]`);
          return 2;
        }
        const { runBackup, runRestore } = await import('./backup.js');
        const run = command === 'backup' ? runBackup : runRestore;
        return await run({ configDir: a.values.config ?? defaultConfigDir(), file: a.positionals[0]!, write });
      }
      case 'member': {
        const a = parsed();
        if (a.positionals[0] === 'show') {
          if (a.positionals.length !== 2) {
            write('usage: kequn member show <member id | platform id | name> [--config DIR]');
            return 2;
          }
          const { runProfile } = await import('./profile.js');
          return runProfile({ configDir: a.values.config ?? defaultConfigDir(), what: 'show', query: a.positionals[1], write });
        }
        const { runMember } = await import('./member.js');
        return runMember({ configDir: a.values.config ?? defaultConfigDir(), action: a.positionals[0] ?? '', query: a.positionals.length === 2 ? a.positionals[1] : undefined, write });
      }
      case 'recommend': {
        const a = parsed();
        const stats = a.values.stats ?? false;
        if (stats ? a.positionals.length !== 0 : a.positionals.length !== 1) {
          write('usage: kequn recommend <member id | platform id | name> [--config DIR] | kequn recommend --stats [--config DIR]');
          return 2;
        }
        const { runProfile } = await import('./profile.js');
        return runProfile({ configDir: a.values.config ?? defaultConfigDir(), what: stats ? 'stats' : 'recommend', query: a.positionals[0], write });
      }
      case 'stats': {
        const a = parsed();
        const { runStats } = await import('./stats.js');
        return runStats({ configDir: a.values.config ?? defaultConfigDir(), args: a.positionals, group: a.values.group, cohort: a.values.cohort, from: a.values.from, to: a.values.to, json: a.values.json ?? false, write });
      }
      case 'digest': {
        const a = parsed();
        const { runDigest } = await import('./digest.js');
        return runDigest({ configDir: a.values.config ?? defaultConfigDir(), args: a.positionals, date: a.values.date, write });
      }
      case 'eval-qa': {
        const a = parsed();
        const threshold = a.values.threshold !== undefined ? Number(a.values.threshold) : DEFAULT_THRESHOLD;
        const split = a.values.split ?? 'all';
        const [bank, queries] = a.values.bank !== undefined || a.values.queries !== undefined ? [a.values.bank, a.values.queries] : a.positionals;
        if (!bank || !queries || a.positionals.length > (a.values.bank !== undefined ? 0 : 2) || !(threshold >= 0 && threshold <= 1) || !['all', 'dev', 'heldout'].includes(split)) {
          write('usage: kequn eval-qa --bank BANK.jsonl --queries QUERIES.jsonl [--split dev|heldout] [--misses] [--json] [--threshold 0..1] [--llm]');
          return 2;
        }
        const { runEvalQa } = await import('./eval-qa.js');
        return await runEvalQa({ bank, queries, misses: a.values.misses ?? false, json: a.values.json ?? false, threshold, split: split as 'all' | 'dev' | 'heldout', llm: a.values.llm ?? false, write });
      }
      case 'faq': {
        const a = parsed();
        const limit = a.values.limit !== undefined ? Number(a.values.limit) : 50;
        if (!Number.isInteger(limit) || limit < 1) {
          write('--limit takes a positive whole number');
          return 2;
        }
        const { runFaq } = await import('./faq.js');
        return runFaq({ configDir: a.values.config ?? defaultConfigDir(), action: a.positionals[0] ?? '', limit, write });
      }
      case 'timeline': {
        const a = parsed();
        const { runTimeline } = await import('./timeline.js');
        return runTimeline({ configDir: a.values.config ?? defaultConfigDir(), cohort: a.values.cohort, args: a.positionals, write });
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        write(USAGE);
        return 0;
      default:
        write(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      write(`${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}
