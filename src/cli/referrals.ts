import { inTransaction } from '../store/db.js';
import { getMember, identitiesOf } from '../store/members.js';
import { countPaidReferrals, countReferrals, ledgerSummary, markPaidOut, unpaidLedger } from '../flows/referral/store.js';
import { oneLine } from '../util/display-text.js';
import { yuan } from '../util/money.js';
import { localParts } from '../util/localtime.js';
import { withCourseStore } from './check.js';

export const CSV_COLUMNS = [
  'entry_id',
  'referrer_id',
  'referrer_name',
  'referrer_accounts',
  'entry',
  'kind',
  'amount_fen',
  'amount_yuan',
  'note',
  'referred_name',
  'order_id',
  'created_at',
] as const;

/**
 * One CSV field. Names are typed by members, so a leading = + - @ (a spreadsheet formula) is
 * neutralised with a quote mark, and quotes, commas and newlines are quoted.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/**
 * `kequn referrals export --csv [--mark-paid]`: the ledger entries not yet paid out (rewards,
 * tier bonuses and reversals, so a referrer's lines add up to what they are owed), as CSV on
 * stdout. With --mark-paid they are marked paid out in the same run, so the next export starts
 * after them. `kequn referrals list`: per-referrer totals.
 */
export function runReferrals(opts: { configDir: string; action: string; csv: boolean; markPaid: boolean; write: (line: string) => void }): number {
  const { write } = opts;
  if (opts.action !== 'export' && opts.action !== 'list') {
    write('usage: kequn referrals export --csv [--mark-paid] [--config DIR]   |   kequn referrals list [--config DIR]');
    return 2;
  }
  if (opts.action === 'export' && !opts.csv) {
    write('kequn referrals export writes CSV: add --csv');
    return 2;
  }
  return withCourseStore(opts.configDir, write, (config, db) => {
    const name = (id: string | null) => (id ? (getMember(db, id)?.display_name ?? '') : '');
    if (opts.action === 'list') {
      const summary = ledgerSummary(db);
      if (summary.length === 0) write('no referral rewards yet');
      for (const s of summary) {
        write(`${s.referrer_id}  ${oneLine(name(s.referrer_id))}  referred ${countReferrals(db, s.referrer_id)}, paid ${countPaidReferrals(db, s.referrer_id)}, total ${yuan(s.fen)} 元, unpaid ${yuan(s.unpaid_fen)} 元`);
      }
      return 0;
    }
    const tz = config.course.timezone;
    const iso = (t: number) => {
      const p = localParts(t, tz);
      const two = (n: number) => String(n).padStart(2, '0');
      return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
    };
    return inTransaction(db, () => {
      const rows = unpaidLedger(db);
      write(CSV_COLUMNS.join(','));
      for (const e of rows) {
        const accounts = identitiesOf(db, e.referrer_id).map((i) => `${i.platform}:${i.platform_id}`).join(' ');
        write(
          [e.id, e.referrer_id, name(e.referrer_id), accounts, e.entry, e.kind, e.fen, Number((e.fen / 100).toFixed(2)), e.note, name(e.referred_id), e.order_id, iso(e.created_at)]
            .map(csvField)
            .join(','),
        );
      }
      if (opts.markPaid) markPaidOut(db, rows.map((r) => r.id), Date.now());
      return 0;
    });
  });
}
