/** The gateway's commands for the `aurora` CLI (packages/model/src/cli/main.ts loads this lazily). */
export { keysCommand, UsageError } from './keys.ts';
