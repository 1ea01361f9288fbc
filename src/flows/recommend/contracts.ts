/**
 * The recommend feature's public types: a ranked recommendation and the `recommend` service
 * (`ctx.services.recommend`): the ranking and the lines the dashboard's member page shows.
 * Another feature may import these types, and nothing else of this folder.
 */
import type { Services } from '../../core/types.js';
import type { Db } from '../../store/db.js';

export interface Recommendation {
  productId: string;
  title: string;
  score: number;
  /** One line in Chinese: 「因为你完成了《数据分析》并经常问 pandas 的问题」. */
  reason: string;
  /** The product's prerequisites (catalog.yaml `requires`) are all bought. */
  requiresMet: boolean;
}

export interface RecommendService {
  /** The products the member has not bought, on sale at `now`, best first. */
  rank(db: Db, memberId: string, now: number, services: Services): Recommendation[];
  /** The member said 退订 (`/unsubscribe`) and not 订阅 since: no course marketing reaches them (recommendations, segment sends). */
  optedOut(db: Db, memberId: string): boolean;
  /** Sections for the member's dashboard page: the ranking, what was sent, the opt-out. */
  pageSections(db: Db, memberId: string, now: number, services: Services): { title: string; lines: string[] }[];
}
