/** An error whose message is meant for the user as is: the CLI prints it on one line, no stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
