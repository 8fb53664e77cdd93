/**
 * Runs async tasks one at a time, in the order they were queued. A task that fails rejects only
 * its own promise: the next one still runs. For work one runtime instance cannot do twice at
 * once (an onnxruntime-web session creation with external data; one in-process model copy).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
