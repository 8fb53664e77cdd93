/** A one-line progress bar on stderr; silent when stderr is not a terminal (logs, CI). */
export class ProgressBar {
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    if (!this.stream.isTTY) return;
    const width = 24;
    const filled = Math.round((done / this.total) * width);
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${seconds}s`);
    if (done >= this.total) this.stream.write('\n');
  }
}
