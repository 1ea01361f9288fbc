/**
 * The check-in feature's public types: the `checkins` service other features read a member's
 * streak through (the profile). Another feature may import these types, and nothing else of this folder.
 */
import type { Db } from '../../store/db.js';

export interface CheckinService {
  /**
   * The member's current streak on local day `today` (YYYY-MM-DD), counted as the check-in
   * messages count it: leave days neither count nor break it, today not yet checked in breaks nothing.
   */
  streak(db: Db, memberId: string, today: string): number;
}
