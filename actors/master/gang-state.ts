/**
 * What the master keeps for gang placement (`MasterContext.gangs`). A leaf of
 * the master's imports, so `model.ts` need not import `gang.ts`.
 */
import type { Timer } from "../../infra/clock.ts";
import type { GangShape } from "../../policies/gang.ts";
import type { Resources } from "../../protocol/resources.ts";

/** A gang a framework declared (`scheduler.requestGang`). */
export interface GangEntry {
  readonly gangId: string;
  readonly frameworkId: string;
  readonly role: string;
  readonly shape: GangShape;
  readonly timeoutMs: number;
  readonly requestedAt: number;
  /** From when it may hold (after its framework's back-off), ms; moved by a later back-off. */
  holdFrom: number;
  /** When it times out unless placed: `holdFrom + timeoutMs`. */
  deadline: number;
  timer: Timer | undefined;
  /** What it holds now, per agent id. */
  held: Map<string, Resources>;
  /** The offers of its whole set, once placed (the gang waits no more). */
  offerIds: string[] | undefined;
  placedAt: number | undefined;
  /** Why its last cycle neither offered nor held anything for it (a quota limit), if so. */
  blocked: string | undefined;
}

/** What the master keeps for gangs. */
export interface GangState {
  /** Gangs by `frameworkId\u0000gangId`, in request order. */
  readonly gangs: Map<string, GangEntry>;
  /** Per framework: until when its gangs may not hold (after one timed out), ms. */
  readonly backoff: Map<string, number>;
  /** Per agent id: what all gangs hold on it (kept with the gangs' `held`). */
  readonly heldOnAgent: Map<string, Resources>;
}

export function createGangState(): GangState {
  return { gangs: new Map(), backoff: new Map(), heldOnAgent: new Map() };
}
