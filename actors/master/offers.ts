/**
 * The offer book: outstanding offers, each usable once. An offer ends
 * accepted, declined, rescinded or expired (the offer lifecycle); an ended
 * offer leaves the book and its resources return to the pool.
 */
import type { Offer } from "../../protocol/common.ts";
import { FrameworkState } from "../../protocol/lifecycles/framework.machine.ts";
import { OfferEvent, OfferState, offerLifecycle } from "../../protocol/lifecycles/offer.machine.ts";
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
  const offer: OfferEntry = {
    offerId: `${ctx.masterId}-O${ctx.sequence.offers++}`,
    frameworkId: framework.id,
    agentId: agent.id,
    role,
    resources,
    createdAt: now,
    timer: undefined,
  };
  ctx.offers.set(offer.offerId, offer);
  addOffered(ctx, agent, framework, offer);
  if (ctx.config.offerTimeout > 0) {
    offer.timer = ctx.clock.after(ctx.config.offerTimeout, () => {
      if (ctx.offers.get(offer.offerId) !== offer) return;
      endOffer(ctx, offer, OfferEvent.Expire);
      ctx.metrics.inc("offers_expired");
      notifyRescind(ctx, offer, "offer timeout");
    });
  }
  ctx.metrics.inc("offers_created");
  return offer;
}

/** The wire form of an offer. */
export function offerToWire(offer: OfferEntry, agent: AgentEntry): Offer {
  return {
    offerId: offer.offerId,
    frameworkId: offer.frameworkId,
    agentId: offer.agentId,
    hostname: agent.hostname,
    role: offer.role,
    resources: interned.json(offer.resources),
    attributes: agent.attributes,
  };
}

/**
 * Ends an outstanding offer (`event` is how): removes it from the book and
 * uncounts its resources. Returns false when the offer was not outstanding.
 */
export function endOffer(ctx: MasterContext, offer: OfferEntry, event: OfferEvent): boolean {
  if (ctx.offers.get(offer.offerId) !== offer) return false;
  if (offerLifecycle.next(OfferState.Outstanding, event) === undefined) return false;
  ctx.offers.delete(offer.offerId);
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
export function rescindOffer(ctx: MasterContext, offer: OfferEntry, reason: string): void {
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
