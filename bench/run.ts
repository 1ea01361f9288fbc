/** `npm run bench`: every benchmark in bench/, one table. */
import { writeFileSync } from 'node:fs';
import { benchCopyStore } from './copy-store.js';
import { benchDashboard } from './dashboard.js';
import { benchPipeline } from './pipeline.js';
import { benchWalPages } from './wal-pages.js';
import { benchStoreFloor } from './store-floor.js';
import { benchPosters } from './posters.js';
import { benchPipelineProcesses } from './pipeline-processes.js';
import { benchQa } from './qa.js';
import { benchQaStart } from './qa-start.js';
import { benchPayments } from './payments.js';
import { benchReferral } from './referral.js';
import { benchRecommend, benchRecommendCost } from './recommend.js';
import { benchReminders } from './reminders.js';
import { benchTimeline } from './timeline.js';
import { benchRegexRules, benchRules } from './rules.js';
import { benchTelegram } from './telegram.js';
import { benchMemory } from './memory.js';
import { benchOutbox } from './outbox.js';
import { benchWechaty } from './wechaty.js';
import { benchJoin } from './join.js';
import { benchHealthz } from './healthz.js';
import { benchOutboxOwner } from './outbox-owner.js';
import { report } from './report.js';

const results = [
  ...(await benchPipeline()),
  ...(await benchWalPages()),
  ...(await benchStoreFloor()),
  ...(await benchPipelineProcesses()),
  ...(await benchRules()),
  ...benchRegexRules(),
  ...benchQa(),
  ...benchQaStart(),
  ...(await benchTelegram()),
  ...benchReferral(),
  ...(await benchReminders()),
  ...(await benchOutbox()),
  ...(await benchPayments()),
  ...benchDashboard(),
  ...(await benchWechaty()),
  ...(await benchMemory()),
  ...benchCopyStore(),
  ...(await benchJoin()),
  ...(await benchHealthz()),
  ...(await benchOutboxOwner()),
  ...(await benchTimeline()),
  ...benchRecommend(),
  ...(await benchRecommendCost()),
  ...(await benchPosters()),
];
report(results);
writeFileSync('bench/results.json', JSON.stringify(results, null, 2));
process.exit(0);
