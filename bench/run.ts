/** `npm run bench`: every benchmark in bench/, one table. */
import { writeFileSync } from 'node:fs';
import { benchPipeline } from './pipeline.js';
import { benchQa } from './qa.js';
import { benchReminders } from './reminders.js';
import { report } from './report.js';

const results = [...(await benchPipeline()), ...benchQa(), ...(await benchReminders())];
report(results);
writeFileSync('bench/results.json', JSON.stringify(results, null, 2));
process.exit(0);
