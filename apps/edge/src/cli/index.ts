/** The gateway's commands for the `aurora` CLI (@aurora-edge/cli composes them with the model's). */
import type { CommandTable } from '@aurora-edge/model/cli';

export const edgeCommands: CommandTable = {
  keys: {
    summary: 'aurora keys create|list|revoke ...          gateway API keys (aurora keys --help)',
    load: async () => (await import('./keys.ts')).keysCommand,
  },
};
