/**
 * kequn.yaml's `recommend:`: how often a member may be sent a next-course recommendation, how long
 * a 报名 after one buys the recommended product, and the message (docs/recommendations.md).
 */
import { z } from 'zod';
import { duration } from '../../config/schema.js';
import { section } from '../../core/feature.js';

declare module '../../core/types.js' {
  interface CourseConfig {
    recommend: RecommendConfig;
  }
}

export const DEFAULT_MESSAGE = '{name}，推荐你接下来学《{product}》：{reason}。报名链接在下面，也可以直接回复「报名」。不想再收到课程推荐，回复「退订」。';

const recommendSchema = z
  .strictObject({
    /** Recommendations per member per calendar month (course time zone). 0 turns them off. */
    max_per_month: z.number().int().min(0).max(31).default(2),
    /** A 报名 within this time after a recommendation buys the recommended product. */
    open_for: duration.default(7 * 86_400_000),
    /** The message; {name}, {product}, {reason}, {price} and course values may be used. */
    message: z.string().trim().min(1).max(500).default(DEFAULT_MESSAGE),
  })
  .default({ max_per_month: 2, open_for: 7 * 86_400_000, message: DEFAULT_MESSAGE });

export type RecommendConfig = z.output<typeof recommendSchema>;

export const recommendSection = section({
  key: 'recommend',
  as: 'recommend',
  schema: recommendSchema,
  resolve(raw, ctx) {
    const unknown = [...raw.message.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]!).filter((v) => !['name', 'product', 'reason', 'price'].includes(v) && !v.includes('.'));
    if (unknown.length > 0) ctx.file.problem(['recommend', 'message'], `unknown variable {${unknown[0]}} (use {name}, {product}, {reason}, {price} or a course value such as {product.python-vip.price})`);
    return raw;
  },
});
