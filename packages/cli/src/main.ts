/** `aurora <command> ...` (bin/aurora.mjs, `npx aurora`, `npm run aurora --`). */
import { describeFailure, runAurora } from './run.ts';

runAurora(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Expected failures are one clear line; anything else is a bug and keeps its stack with AURORA_DEBUG=1.
    const { line, code } = describeFailure(error);
    console.error(line);
    if (process.env.AURORA_DEBUG && error instanceof Error) console.error(error.stack);
    process.exitCode = code;
  },
);
