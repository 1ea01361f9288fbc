import type { Db } from '../../../store/db.js';
import { stmt } from '../../../store/statements.js';

/** A payment taken outside kequn's providers (migration `external shop payments`). */
export interface ShopPaymentRow {
  /** `shop:xiaoe` (a signed callback) or `staff` (a /paid). */
  provider: string;
  /** The shop's order id, or the staff payment's own id. */
  reference: string;
  order_id: string;
  amount: number;
  note: string;
  recorded_by: string | null;
  state: 'pending' | 'applied' | 'already';
  created_at: number;
  applied_at: number | null;
}

/** The member opened their personal shop link. */
export function recordShopClick(db: Db, orderId: string, now: number): void {
  stmt(db, 'UPDATE orders SET shop_clicks = shop_clicks + 1, shop_clicked_at = COALESCE(shop_clicked_at, ?) WHERE id = ?').run(now, orderId);
}

/** Records a payment to apply; false when this provider's reference was recorded before (a replay). */
export function insertShopPayment(db: Db, p: Pick<ShopPaymentRow, 'provider' | 'reference' | 'order_id' | 'amount' | 'note' | 'recorded_by' | 'created_at'>): boolean {
  return (
    stmt(
      db,
      "INSERT INTO shop_payments (provider, reference, order_id, amount, note, recorded_by, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
    ).run(p.provider, p.reference, p.order_id, p.amount, p.note, p.recorded_by, p.created_at).changes > 0
  );
}

export function getShopPayment(db: Db, provider: string, reference: string): ShopPaymentRow | undefined {
  return stmt(db, 'SELECT * FROM shop_payments WHERE provider = ? AND reference = ?').get(provider, reference) as ShopPaymentRow | undefined;
}

export function pendingShopPayments(db: Db, limit: number): ShopPaymentRow[] {
  return stmt(db, "SELECT * FROM shop_payments WHERE state = 'pending' ORDER BY created_at LIMIT ?").all(limit) as ShopPaymentRow[];
}

/** Applied (the order became paid) or already (it was paid before): only a pending row moves. */
export function finishShopPayment(db: Db, provider: string, reference: string, state: 'applied' | 'already', now: number): boolean {
  return stmt(db, "UPDATE shop_payments SET state = ?, applied_at = ? WHERE provider = ? AND reference = ? AND state = 'pending'").run(state, now, provider, reference).changes > 0;
}
