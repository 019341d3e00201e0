// What activities opened and must close once the worker has stopped: the Qlik sessions cached at
// QPS, connection pools, the audit store. The worker's owner runs it after worker.run() resolves.
import { setTimeout as sleep } from 'node:timers/promises';

export class Cleanup {
  private readonly tasks: (() => Promise<unknown>)[] = [];

  add(task: () => Promise<unknown>): void {
    this.tasks.push(task);
  }

  /** Runs every task at once, for at most `timeoutMs` in all; one failing does not stop the others. */
  async run(timeoutMs = 5000): Promise<void> {
    const all = Promise.allSettled(this.tasks.splice(0).map((task) => task()));
    await Promise.race([all, sleep(timeoutMs, undefined, { ref: false })]);
  }
}
