/**
 * Records a stream of events and waits for the ones that matter: for tests
 * of frameworks, narrations (`agora demo`) and scripts. Waiting looks at the
 * events already recorded (from a mark) and at those still to come, so there
 * is no race between an action and the wait for its consequence.
 */
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { SchedulerDriver } from "./driver.ts";
import type { SchedulerEvent } from "./events.ts";

interface Waiter<T> {
  from: number;
  predicate: (item: T) => boolean;
  resolve: (item: T) => void;
}

/** Records items pushed to it; {@link waitFor} finds the first one matching a predicate. */
export class Recorder<T> {
  readonly #items: T[] = [];
  readonly #waiters = new Set<Waiter<T>>();

  /** Everything recorded so far. */
  get items(): readonly T[] {
    return this.#items;
  }

  /** The current position, to wait only for items recorded after it. */
  mark(): number {
    return this.#items.length;
  }

  /** Records one item and wakes the waiters it matches. */
  push(item: T): void {
    const index = this.#items.push(item) - 1;
    for (const waiter of [...this.#waiters]) {
      if (index >= waiter.from && waiter.predicate(item)) {
        this.#waiters.delete(waiter);
        waiter.resolve(item);
      }
    }
  }

  /** The recorded items (from `from`) that match. */
  filter<U extends T>(predicate: (item: T) => item is U, from?: number): U[];
  filter(predicate: (item: T) => boolean, from?: number): T[];
  filter(predicate: (item: T) => boolean, from = 0): T[] {
    return this.#items.slice(from).filter(predicate);
  }

  /**
   * The first item from position `from` (default 0) matching `predicate`,
   * recorded already or still to come.
   * @throws AgoraError TIMEOUT after `timeoutMs`, naming `what`
   */
  waitFor<U extends T>(
    predicate: (item: T) => item is U,
    options?: { timeoutMs?: number; from?: number; what?: string },
  ): Promise<U>;
  waitFor(
    predicate: (item: T) => boolean,
    options?: { timeoutMs?: number; from?: number; what?: string },
  ): Promise<T>;
  waitFor(
    predicate: (item: T) => boolean,
    options: { timeoutMs?: number; from?: number; what?: string } = {},
  ): Promise<T> {
    const from = options.from ?? 0;
    for (let i = from; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (predicate(item)) return Promise.resolve(item);
    }
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter<T> = {
        from,
        predicate,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      this.#waiters.add(waiter);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(
            new AgoraError(
              ErrorCode.Timeout,
              `timed out after ${options.timeoutMs} ms waiting for ${options.what ?? "an event"}`,
            ),
          );
        }, options.timeoutMs);
      }
    });
  }
}

/**
 * Records every event of a driver from now on (until it stops).
 *
 * ```ts
 * const events = recordEvents(driver);
 * await driver.start();
 * const { offers } = await events.waitFor(isEvent("offers"), { timeoutMs: 10_000 });
 * ```
 */
export function recordEvents(driver: SchedulerDriver): Recorder<SchedulerEvent> {
  const recorder = new Recorder<SchedulerEvent>();
  const iterator = driver.events();
  void (async () => {
    for await (const event of iterator) recorder.push(event);
  })();
  return recorder;
}

/** A type guard for one event type, for {@link Recorder.waitFor} and {@link Recorder.filter}. */
export function isEvent<K extends SchedulerEvent["type"]>(
  type: K,
  predicate?: (event: Extract<SchedulerEvent, { type: K }>) => boolean,
): (event: SchedulerEvent) => event is Extract<SchedulerEvent, { type: K }> {
  return (event): event is Extract<SchedulerEvent, { type: K }> =>
    event.type === type &&
    (predicate === undefined || predicate(event as Extract<SchedulerEvent, { type: K }>));
}
