/** Compiled `src/cli/main.js` for the current sources (built if needed), or undefined when it cannot be built here. */
export function ensureBuild(): string | undefined;
