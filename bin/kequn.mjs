#!/usr/bin/env node
// kequn's command line. TypeScript sources run through tsx, so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
// Wechaty and gRPC keep handles open after stop; the command's work is done.
process.exit(code);
