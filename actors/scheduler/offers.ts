/**
 * Small helpers for frameworks: reading offers and building tasks.
 */
import { randomUUID } from "node:crypto";
import type { Offer, ResourcesJson, TaskInfo } from "../../protocol/common.ts";
import { Resources, UNRESERVED_ROLE } from "../../protocol/resources.ts";

/** The resources of an offer as a {@link Resources} value. */
export function offerResources(offer: Offer): Resources {
  return Resources.fromJSON(offer.resources);
}

/**
 * The resources a task needing `need` should ask for on `offer`, or undefined
 * when the offer is too small. Unreserved resources are used first; when the
 * offer's role is not `*`, resources reserved to that role are used instead
 * when the unreserved ones do not suffice.
 */
export function fitOffer(need: Resources, offer: Offer): Resources | undefined {
  const available = offerResources(offer);
  if (available.contains(need)) return need;
  if (offer.role !== UNRESERVED_ROLE) {
    const reserved = need.flatten().reserve(offer.role);
    if (available.contains(reserved)) return reserved;
  }
  return undefined;
}

/** What {@link commandTask} needs. */
export interface CommandTaskSpec {
  /** @default `<name>-<random>` */
  taskId?: string;
  name: string;
  agentId: string;
  resources: Resources | ResourcesJson;
  /** A shell command line, run with `/bin/sh -c`. */
  command: string;
  /** Extra environment variables of the task. */
  environment?: Record<string, string>;
  /** Seconds between SIGTERM and SIGKILL when the task is killed. */
  killGracePeriodSeconds?: number;
  labels?: Record<string, string>;
}

/** A task that runs a shell command through the built-in command executor. */
export function commandTask(spec: CommandTaskSpec): TaskInfo {
  const resources = spec.resources instanceof Resources ? spec.resources.toJSON() : spec.resources;
  return {
    taskId:
      spec.taskId ?? `${spec.name.replace(/[^A-Za-z0-9_-]/g, "_")}-${randomUUID().slice(0, 8)}`,
    name: spec.name,
    agentId: spec.agentId,
    resources,
    command: {
      value: spec.command,
      shell: true,
      ...(spec.environment === undefined ? {} : { environment: spec.environment }),
    },
    ...(spec.killGracePeriodSeconds === undefined
      ? {}
      : { killGracePeriodSeconds: spec.killGracePeriodSeconds }),
    ...(spec.labels === undefined ? {} : { labels: spec.labels }),
  };
}
