/**
 * XState's clock over agora's injected {@link Clock}: delayed transitions of a
 * live machine (`after: { leaseTimeout: ... }`) run on the same clock as the
 * actor that hosts it, so unit tests drive them with a `VirtualClock`.
 *
 * ```ts
 * const actor = createActor(machine.provide({ delays, actions }), { clock: machineClock(clock) });
 * ```
 */
import type { Clock, Timer } from "./clock.ts";

/** The shape of XState v5's `clock` option of `createActor`. */
export interface MachineClock {
  setTimeout(fn: () => void, timeout: number): Timer;
  clearTimeout(id: Timer | undefined): void;
}

/** Adapts an agora clock for `createActor(machine, { clock })`. */
export function machineClock(clock: Clock): MachineClock {
  return {
    setTimeout: (fn, timeout) => clock.after(Math.max(0, timeout), fn),
    clearTimeout: (timer) => timer?.cancel(),
  };
}
