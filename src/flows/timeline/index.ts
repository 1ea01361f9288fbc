/**
 * The group timeline (群 SOP): per cohort, messages at offsets from its start (开营预告, 开营,
 * 直播提醒 every Tue/Thu, weekly homework, 结营, the survey) to its trial or paid groups or
 * privately to its members in a stage, planned as persisted standing jobs, sent once through the
 * outbox; staff list, pause and skip entries from chat (docs/timeline.md).
 */
import type { Feature } from '../../core/feature.js';
import { templateVariables } from '../../core/templates.js';
import { timelineCommand } from './command.js';
import { TIMELINE_FILE, timelineSection } from './config.js';
import { planTimeline } from './plan.js';
import { runSend } from './send.js';
import { describeWhen } from './when.js';

export const timelineFeature: Feature = {
  name: 'timeline',
  // A private entry skips members whose cohort (membership) is another one: deferred (延期) away.
  uses: ['cohorts'],
  config: [timelineSection],
  templateVars: ['cohort'],
  commands: [timelineCommand],
  jobs: [
    {
      kind: 'timeline',
      run: () => 'skipped: timeline jobs are not planned per member',
      runSystem: runSend,
    },
  ],
  plan: planTimeline,
  // `{timeline.live.time}` → `每周二、周四 19:30`: the live-class time written once, in timeline.yaml.
  courseValues: (config) => Object.fromEntries(config.timeline.entries.map((e) => [`timeline.${e.id}.time`, describeWhen(e.when)])),
  checkCourse(config, check) {
    const entries = config.timeline.entries;
    if (entries.length > 0 && config.cohorts.length === 0) check.warn(TIMELINE_FILE, ['timeline'], 'no cohorts in kequn.yaml (`cohorts:`): the timeline sends nothing');
    entries.forEach((e, i) => {
      if (e.text === undefined) return;
      const known = new Set([...Object.keys(config.values), 'course', 'bot', 'cohort', e.to.kind === 'stage' ? 'name' : 'group']);
      for (const v of templateVariables(e.text)) {
        if (!known.has(v)) check.problem(TIMELINE_FILE, ['timeline', i, 'text'], `unknown variable {${v}} (here: ${[...known].filter((k) => !k.includes('.')).join(', ')}, or a course value such as {timeline.${e.id}.time})`);
      }
    });
  },
};
