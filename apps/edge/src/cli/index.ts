/** The gateway's commands for the `aurora` CLI (@aurora-edge/cli composes them with the model's). */
import type { CommandTable } from '@aurora-edge/model/cli';

export const edgeCommands: CommandTable = {
  batch: {
    summary: "aurora batch <prompts.txt> --gateway <url> [--seeds 0..3] ...   warm a gateway's cache in one batch (aurora batch --help)",
    load: async () => (await import('./batch.ts')).batchCommand,
  },
  keys: {
    summary: 'aurora keys create|list|revoke ...          gateway API keys (aurora keys --help)',
    load: async () => (await import('./keys.ts')).keysCommand,
  },
};
