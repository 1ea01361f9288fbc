#!/usr/bin/env node
// kequn's command line. It runs src/ compiled to JavaScript (bin/build.mjs, rebuilt whenever a
// source changes, so a fresh clone needs no build step), which spares a long-running bot tsx's
// loader thread and transform cache (~45 MB). KEQUN_TSX=1 runs the TypeScript sources through
// tsx instead, as does any install where the build cannot be written.
import { ensureBuild } from './build.mjs';

const compiled = process.env.KEQUN_TSX === '1' ? undefined : ensureBuild();
let main;
if (compiled) {
  ({ main } = await import(compiled));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
const code = await main(process.argv.slice(2));
// Wechaty and gRPC keep handles open after stop; the command's work is done.
process.exit(code);
