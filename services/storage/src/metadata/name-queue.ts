/**
 * Runs tasks for the same name one after another (tasks for different names
 * run side by side). Within one service this makes "look the name up, then
 * register it" atomic; services sharing an index can still race, and the
 * index then resolves the name to its newest run.
 */
export class NameQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(name: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return result;
  }
}
