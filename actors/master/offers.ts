/**
 * The offer book: outstanding offers, each usable once. An offer ends
 * accepted, declined, rescinded or expired (the offer lifecycle); an ended
 * offer leaves the book and its resources return to the pool.
 */
import type { SentOffer } from "../../protocol/cluster.ts";
import type { Offer } from "../../protocol/common.ts";
import { Tail } from "../../protocol/fast-pack.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import {
  OfferDelay,
  OfferEvent,
  OfferState,
  offerLifecycle,
} from "../../protocol/lifecycles/offer.machine.ts";
import type { Resources } from "../../protocol/resources.ts";
import { interned } from "./intern.ts";
import { addOffered, removeOffered } from "./ledger.ts";
import type { AgentEntry, FrameworkEntry, MasterContext, OfferEntry } from "./model.ts";

/** Creates an outstanding offer and counts its resources as offered. */
export function createOffer(
  ctx: MasterContext,
  agent: AgentEntry,
  framework: FrameworkEntry,
  role: string,
  resources: Resources,
  now = ctx.clock.now(),
): OfferEntry {
  const seq = ctx.sequence.offers++;
  const offer: OfferEntry = {
    offerId: ctx.offers.idOf(seq),
    seq,
    frameworkId: framework.id,
    agentId: agent.id,
    role,
    resources,
    createdAt: now,
    state: OfferState.Outstanding,
    timer: undefined,
    inList: undefined,
    prevInList: undefined,
    nextInList: undefined,
  };
  ctx.offers.add(offer);
  addOffered(ctx, agent, framework, offer);
  for (const timeout of OUTSTANDING_TIMEOUTS) {
    const ms = delayValue(ctx, timeout.delay);
    if (ms <= 0) continue;
    offer.timer = ctx.clock.after(ms, () => {
      offer.timer = undefined;
      if (!endOffer(ctx, offer, OfferEvent.Expire)) return;
      ctx.metrics.inc("offers_expired");
      notifyRescind(ctx, offer, "offer timeout");
    });
  }
  ctx.metrics.inc("offers_created");
  return offer;
}

/** The named delays of an outstanding offer, from the offer machine. */
const OUTSTANDING_TIMEOUTS = offerLifecycle.timeouts(OfferState.Outstanding);

/** The configured value of one of the offer machine's named delays, in ms (0: none). */
function delayValue(ctx: MasterContext, delay: string): number {
  switch (delay) {
    case OfferDelay.OfferTimeout:
      return ctx.config.offerTimeout;
    default:
      return 0;
  }
}

/**
 * The wire form of an offer: its own entries, then the agent's
 * (`agent.offerTail`, set by the call: the same object for every offer of
 * the agent's same free resources, whose bytes the codec copies).
 */
export function offerToWire(offer: OfferEntry, agent: AgentEntry): Offer {
  const resources = interned.json(offer.resources);
  let tail = agent.offerTail?.entries;
  if (
    tail === undefined ||
    tail.resources !== resources ||
    tail.agentId !== agent.id ||
    tail.hostname !== agent.hostname ||
    tail.attributes !== agent.attributes ||
    tail.agentPrincipal !== agent.principal
  ) {
    agent.offerTail = new Tail({
      agentId: agent.id,
      agentPrincipal: agent.principal,
      hostname: agent.hostname,
      resources,
      attributes: agent.attributes,
    });
    tail = agent.offerTail.entries;
  }
  return {
    offerId: offer.offerId,
    frameworkId: offer.frameworkId,
    role: offer.role,
    agentId: tail.agentId,
    agentPrincipal: tail.agentPrincipal,
    hostname: tail.hostname,
    resources: tail.resources,
    attributes: tail.attributes,
  };
}

/**
 * An offer as `cluster.offersSent` lists it, from its wire form: its own
 * entries, then the agent's (`agent.sentTail`, set by the call, as
 * {@link offerToWire}).
 */
export function sentOffer(wire: Offer, agent: AgentEntry): SentOffer {
  let tail = agent.sentTail?.entries;
  if (tail === undefined || tail.resources !== wire.resources || tail.agentId !== wire.agentId) {
    agent.sentTail = new Tail({ agentId: wire.agentId, resources: wire.resources });
    tail = agent.sentTail.entries;
  }
  return {
    offerId: wire.offerId,
    frameworkId: wire.frameworkId,
    role: wire.role,
    agentId: tail.agentId,
    resources: tail.resources,
  };
}

/**
 * Ends an outstanding offer (`event` is how, a transition of the offer
 * machine): removes it from the book and uncounts its resources. Returns
 * false when the machine has no such transition from the offer's state (it
 * ended already).
 */
export function endOffer(ctx: MasterContext, offer: OfferEntry, event: OfferEvent): boolean {
  const next = offerLifecycle.next(offer.state, event);
  if (next === undefined) return false;
  offer.state = next;
  ctx.offers.delete(offer);
  offer.timer?.cancel();
  offer.timer = undefined;
  removeOffered(ctx, ctx.agents.get(offer.agentId), ctx.frameworks.get(offer.frameworkId), offer);
  const how = OFFER_END[event];
  if (how !== undefined) ctx.events.offerEnded(offer, how);
  return true;
}

/**
 * How an offer ended, as `cluster.offerEnded` says it; a rescind and an
 * expiry (told to the framework as a rescind) publish `cluster.offerRescinded`.
 */
const OFFER_END: Partial<Record<OfferEvent, "accepted" | "declined">> = {
  [OfferEvent.Accept]: "accepted",
  [OfferEvent.Decline]: "declined",
};

function notifyRescind(ctx: MasterContext, offer: OfferEntry, reason: string): void {
  const framework = ctx.frameworks.get(offer.frameworkId);
  if (framework?.status === FrameworkState.Subscribed) {
    ctx.outbox.toFramework(framework.id, { type: "event.rescind", offerId: offer.offerId });
  }
  ctx.events.offerRescinded(offer, reason);
}

/** Rescinds an offer: it ends, and its framework is told with `event.rescind`. */
function rescindOffer(ctx: MasterContext, offer: OfferEntry, reason: string): void {
  if (!endOffer(ctx, offer, OfferEvent.Rescind)) return;
  ctx.metrics.inc("offers_rescinded");
  notifyRescind(ctx, offer, reason);
}

/** Rescinds every outstanding offer on the agent. */
export function rescindAgentOffers(ctx: MasterContext, agent: AgentEntry, reason: string): void {
  if (agent.offers === undefined) return;
  for (const offer of agent.offers.slice()) rescindOffer(ctx, offer, reason);
}

/** Rescinds every outstanding offer of the framework. */
export function rescindFrameworkOffers(
  ctx: MasterContext,
  framework: FrameworkEntry,
  reason: string,
): void {
  for (const offer of Array.from(framework.offers)) rescindOffer(ctx, offer, reason);
}
