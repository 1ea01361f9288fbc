/**
 * Every suite of the hostile drill, in the order they run. Adding a suite: one file in this
 * folder, one line here.
 */
import { runInputDrill } from '../hostile.js';
import { exposureSuite } from './exposure.js';
import { namesAndPatterns } from './inputs-more.js';
import { floodSuite } from './flood.js';
import type { AttackSuite } from './suite.js';
import { privateChannelSuite } from './private-channel.js';
import { joinSuite } from './join.js';
import { shopCallbackSuite } from './shop-callback.js';

export const SUITES: AttackSuite[] = [
  {
    name: 'inputs',
    title: 'bad input corpus: test/fixtures/hostile and generated messages, configs, payment webhooks',
    async run() {
      const r = await runInputDrill();
      return { tried: r.tried, lines: r.lines, problems: r.problems };
    },
  },
  exposureSuite,
  namesAndPatterns,
  floodSuite,
  privateChannelSuite,
  joinSuite,
  shopCallbackSuite,
];
