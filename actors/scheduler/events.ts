/**
 * The events a {@link SchedulerDriver} delivers to the framework, and the two
 * ways to receive them: typed handlers (`on`) and async iterators (`events()`).
 * Handlers run one event at a time, in the order the master sent them; an
 * async handler is awaited before the next event is delivered.
 */
import type { Offer, TaskStatus } from "../../protocol/common.ts";
import type { AgoraError } from "../../protocol/errors.ts";
import type { InverseOffer } from "../../protocol/maintenance.ts";

/** Payload of every event, by event name. */
export interface SchedulerEventMap {
  /** The master accepted the (re)subscription. */
  subscribed: {
    frameworkId: string;
    masterId: string;
    heartbeatIntervalSeconds: number;
    /** True when this is not the first subscription of this driver (failover, reconnect). */
    resubscribed: boolean;
    /**
     * The master of this driver's previous subscription, when it had one: a `masterId` other
     * than it means that the master failed over to a new leader.
     */
    previousMasterId?: string;
  };
  /**
   * New resource offers. With `gangId`, they are the whole set of that gang
   * (`requestGang`): use them with `acceptGang`.
   */
  offers: { offers: Offer[]; gangId?: string };
  /**
   * A gang's whole set did not fit within its timeout: what it held is
   * released; the framework's gangs hold nothing for `backoffSeconds`.
   */
  gangTimedOut: { gangId: string; reason: string; backoffSeconds: number };
  /** An offer is no longer valid. */
  rescind: { offerId: string };
  /** A task status update. With `autoAcknowledge` it is acknowledged after the handlers ran. */
  update: { status: TaskStatus };
  /** A message from an executor. */
  message: { agentId: string; executorId: string; data: Uint8Array };
  /** An agent was lost, or an executor terminated. */
  failure: { agentId?: string; executorId?: string; status?: number };
  /** An error about the framework (`event.error` from the master, or a failure of the driver). */
  error: { error: AgoraError };
  /** The master's periodic liveness event. */
  heartbeat: Record<string, never>;
  /**
   * Agents the framework runs tasks on are drained or scheduled for maintenance
   * (Mesos inverse offers): answer with `acceptInverseOffers` (it will move its
   * tasks) or `declineInverseOffers`.
   */
  inverseOffers: { inverseOffers: InverseOffer[] };
  /** An inverse offer is withdrawn. */
  rescindInverseOffer: { inverseOfferId: string };
  /**
   * The driver lost the master (master silence, NOT_SUBSCRIBED, a new leader's `event.resubscribe`,
   * a NATS reconnect) and is resubscribing with the same framework id; `subscribed` with
   * `resubscribed: true` follows. Calls made meanwhile reject with NOT_SUBSCRIBED (retryable).
   */
  disconnected: { reason: string };
}

/** Names of the driver's events. */
export type SchedulerEventName = keyof SchedulerEventMap;

/** One event as the iterator yields it: `{type, ...payload}`. */
export type SchedulerEvent = {
  [K in SchedulerEventName]: { type: K } & SchedulerEventMap[K];
}[SchedulerEventName];

/** A handler of one event; may be async. */
export type SchedulerEventHandler<K extends SchedulerEventName> = (
  event: SchedulerEventMap[K],
) => void | Promise<void>;

/**
 * An unbounded async queue of events with one consumer, closed by {@link close}.
 * Iterating it after `close()` drains what is left, then ends.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #closed = false;
  readonly #onReturn: () => void;

  constructor(onReturn: () => void = () => {}) {
    this.#onReturn = onReturn;
  }

  /** Adds an item; ignored once the queue is closed. */
  push(item: T): void {
    if (this.#closed) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  /** Ends the iteration once the buffered items are consumed. */
  close(): void {
    this.#closed = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#items.length = 0;
    this.close();
    this.#onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** Typed handlers plus iterators; delivery is serialized by the driver. */
export class SchedulerEventHub {
  readonly #handlers = new Map<SchedulerEventName, Set<(event: never) => void | Promise<void>>>();
  readonly #queues = new Set<EventQueue<SchedulerEvent>>();
  #closed = false;

  /** Registers a handler; returns a function that removes it. */
  on<K extends SchedulerEventName>(type: K, handler: SchedulerEventHandler<K>): () => void {
    let set = this.#handlers.get(type);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(type, set);
    }
    const h = handler as (event: never) => void | Promise<void>;
    set.add(h);
    return () => {
      set.delete(h);
    };
  }

  /** A new iterator of every event from now on. */
  iterator(): EventQueue<SchedulerEvent> {
    const queue: EventQueue<SchedulerEvent> = new EventQueue(() => this.#queues.delete(queue));
    if (this.#closed) queue.close();
    else this.#queues.add(queue);
    return queue;
  }

  /** True when someone listens for `type` (handlers or iterators). */
  hasListeners(type: SchedulerEventName): boolean {
    return (this.#handlers.get(type)?.size ?? 0) > 0 || this.#queues.size > 0;
  }

  /**
   * Delivers an event: pushes it to every iterator, then runs the handlers of
   * its type one after the other. Returns the errors the handlers threw.
   */
  async deliver<K extends SchedulerEventName>(
    type: K,
    payload: SchedulerEventMap[K],
  ): Promise<unknown[]> {
    const event = { type, ...payload } as SchedulerEvent;
    for (const queue of this.#queues) queue.push(event);
    const errors: unknown[] = [];
    const set = this.#handlers.get(type);
    if (set === undefined) return errors;
    for (const handler of [...set]) {
      try {
        await (handler as SchedulerEventHandler<K>)(payload);
      } catch (err) {
        errors.push(err);
      }
    }
    return errors;
  }

  /** Ends every iterator. */
  close(): void {
    this.#closed = true;
    for (const queue of this.#queues) queue.close();
    this.#queues.clear();
  }
}
