/**
 * Operator calls on `master.operator.<principal>` (Mesos's operator API): the state,
 * role weights, role quota and the allocation policy, each changeable while
 * the master runs, and dynamic reservations and persistent volumes on an
 * agent (reservations.ts). The role settings live in `roles.ts` (which validates them);
 * changes take effect from the next allocation cycle, which is requested at
 * once; outstanding offers are left alone (Mesos does not rescind offers on a
 * weight or quota update either).
 */

import { explainFramework, explainOrdering } from "../../policies/explain.ts";
import type { AclAction } from "../../protocol/acls.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { stateReply } from "../../protocol/parts.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import { StoreKeys } from "../../protocol/store.ts";
import type { AcceptedMessage } from "../../protocol/subject-routes.ts";
import { assertValidId } from "../../protocol/subjects.ts";
import { buildContext } from "./allocator.ts";
import { checkAll } from "./authorizer.ts";
import { teardownFramework } from "./frameworks.ts";
import { heldForGangs } from "./gang.ts";
import {
  deactivateAgent,
  drainAgent,
  reactivateAgent,
  updateMaintenanceSchedule,
} from "./maintenance.ts";
import type { MasterContext } from "./model.ts";
import { setPreemption } from "./preemption.ts";
import { afterWrite, storeRecord } from "./registry.ts";
import { OPERATOR_OPERATIONS, operatorOperation } from "./reservations.ts";
import {
  removeRoleQuota,
  rolePriorities,
  roleQuotas,
  roleWeights,
  setRolePriorities,
  setRoleQuota,
  setRoleWeights,
} from "./roles.ts";
import { masterState } from "./state.ts";

/** A call accepted on `master.operator.<principal>` (protocol/subject-routes.ts). */
export type OperatorCall = AcceptedMessage<"masterOperator">;

/** What operator calls may change besides the master's records. */
export interface OperatorControls {
  /**
   * Switches the allocation policy.
   * @throws AgoraError INVALID_ID for a name that cannot be a subject token
   */
  usePolicy(name: string): void;
  /**
   * Checks that the policy can be used before it is stored and switched to:
   * a built-in name, or a policy actor that answers.
   * @throws AgoraError NOT_FOUND when no policy actor serves the name
   */
  checkPolicy?(name: string): Promise<void>;
}

/** Controls of a master without a policy switch: `operator.usePolicy` is refused. */
export const NO_CONTROLS: OperatorControls = {
  usePolicy() {
    throw new AgoraError(ErrorCode.InvalidState, "this master cannot switch policies");
  },
};

/**
 * Runs a role change on a copy of the roles (it validates and throws as the
 * real one would) and returns that copy, so the record to store is known
 * before anything is applied.
 */
function dryRun(ctx: MasterContext, change: (copy: MasterContext) => void): MasterContext {
  const roles = new Map(Array.from(ctx.roles, ([role, entry]) => [role, { ...entry }]));
  const copy: MasterContext = { ...ctx, roles, requestAllocation: () => {} };
  change(copy);
  return copy;
}

/** Validates a role change, stores its outcome, then applies it; `undefined` reply (`ok`). */
function storeThenApply(
  ctx: MasterContext,
  change: (target: MasterContext) => void,
  record: (after: MasterContext) => [string, object],
  applied: () => void,
): undefined | Promise<undefined> {
  const [key, value] = record(dryRun(ctx, change));
  return afterWrite(storeRecord(ctx.registry, key, value), () => {
    change(ctx);
    applied();
    return undefined;
  });
}

/** The entries of a role → value record the principal may see (`view_weights`, `get_quotas`). */
function viewable<T>(
  ctx: MasterContext,
  action: AclAction,
  principal: string | undefined,
  byRole: Record<string, T>,
): Record<string, T> {
  if (!ctx.authorizer.enabled) return byRole;
  const shown: Record<string, T> = {};
  for (const [role, value] of Object.entries(byRole)) {
    if (ctx.authorizer.authorize(action, principal, role)) shown[role] = value;
    else ctx.metrics.inc(`acl_filtered_${action}`);
  }
  return shown;
}

/**
 * Handles one operator call from `principal` (undefined: unauthenticated);
 * returns its reply (`undefined` means `ok`).
 * @throws AgoraError PERMISSION_DENIED when the ACLs do not allow it
 */
export function handleOperatorCall(
  ctx: MasterContext,
  controls: OperatorControls,
  call: OperatorCall,
  principal?: string,
): Message | undefined | Promise<Message | undefined> {
  const check = (action: AclAction, objects: readonly string[]) =>
    checkAll(ctx.authorizer, ctx, action, principal, objects);
  switch (call.type) {
    case "operator.getState":
      return { type: "operator.state", state: masterState(ctx) };
    case "operator.getWeights":
      return {
        type: "operator.weights",
        weights: viewable(ctx, "view_weights", principal, roleWeights(ctx)),
      };
    case "operator.setWeights":
      check("update_weights", Object.keys(call.weights));
      return storeThenApply(
        ctx,
        (target) => setRoleWeights(target, call.weights),
        (after) => [StoreKeys.weights, { weights: roleWeights(after) }],
        () => {
          ctx.logger.info({ weights: call.weights }, "role weights updated");
          ctx.metrics.inc("operator_weight_updates");
        },
      );
    case "operator.getPriorities":
      return {
        type: "operator.priorities",
        priorities: viewable(ctx, "view_priorities", principal, rolePriorities(ctx)),
      };
    case "operator.setPriorities":
      check("update_priorities", Object.keys(call.priorities));
      return storeThenApply(
        ctx,
        (target) => setRolePriorities(target, call.priorities),
        (after) => [StoreKeys.priorities, { priorities: rolePriorities(after) }],
        () => {
          ctx.logger.info({ priorities: call.priorities }, "role priorities updated");
          ctx.metrics.inc("operator_priority_updates");
        },
      );
    case "operator.getQuota":
      return {
        type: "operator.quota",
        quotas: viewable(ctx, "get_quotas", principal, roleQuotas(ctx)),
      };
    case "operator.setQuota":
      check("update_quotas", [call.role]);
      return storeThenApply(
        ctx,
        (target) =>
          setRoleQuota(target, call.role, {
            guarantee: call.guarantee,
            limit: call.limit,
            borrowingLimit: call.borrowingLimit,
            lendingLimit: call.lendingLimit,
          }),
        (after) => [StoreKeys.quota, { quotas: roleQuotas(after) }],
        () => {
          ctx.logger.info(
            { role: call.role, guarantee: call.guarantee, limit: call.limit },
            "role quota updated",
          );
          ctx.metrics.inc("operator_quota_updates");
        },
      );
    case "operator.removeQuota":
      check("update_quotas", [call.role]);
      if (roleQuotas(ctx)[call.role] === undefined) {
        throw new AgoraError(ErrorCode.NotFound, `role ${call.role} has no quota`);
      }
      return storeThenApply(
        ctx,
        (target) => removeRoleQuota(target, call.role),
        (after) => [StoreKeys.quota, { quotas: roleQuotas(after) }],
        () => {
          ctx.logger.info({ role: call.role }, "role quota removed");
          ctx.metrics.inc("operator_quota_updates");
        },
      );
    case "operator.explain":
      return explain(ctx, call);
    case "operator.reserveResources":
    case "operator.unreserveResources":
      return operatorOperation(
        ctx,
        call.agentId,
        OPERATOR_OPERATIONS[call.type],
        call.resources,
        principal,
      );
    case "operator.createVolumes":
    case "operator.destroyVolumes":
      return operatorOperation(
        ctx,
        call.agentId,
        OPERATOR_OPERATIONS[call.type],
        call.volumes,
        principal,
      );
    case "operator.drainAgent":
      check("drain_agents", [call.agentId]);
      return drainAgent(ctx, call);
    case "operator.deactivateAgent":
      check("drain_agents", [call.agentId]);
      return deactivateAgent(ctx, call);
    case "operator.reactivateAgent":
      check("drain_agents", [call.agentId]);
      return reactivateAgent(ctx, call);
    case "operator.updateMaintenanceSchedule":
      check(
        "drain_agents",
        call.windows.flatMap((w) => w.machines.map((m) => m.agentId ?? m.hostname ?? "")),
      );
      return updateMaintenanceSchedule(ctx, call);
    case "operator.getMaintenanceSchedule":
      return {
        type: "operator.maintenanceSchedule",
        windows: structuredClone(ctx.maintenance.windows),
      };
    case "operator.usePolicy": {
      assertValidId(call.name, "policy name");
      check("switch_policy", [call.name]);
      const switchTo = () =>
        afterWrite(storeRecord(ctx.registry, StoreKeys.policy, { name: call.name }), () => {
          controls.usePolicy(call.name);
          return undefined;
        });
      return controls.checkPolicy === undefined
        ? switchTo()
        : controls.checkPolicy(call.name).then(switchTo);
    }
    case "operator.updatePreemption":
      check("update_preemption", [call.enabled ? "on" : "off"]);
      return afterWrite(
        storeRecord(ctx.registry, StoreKeys.preemption, { enabled: call.enabled }),
        () => {
          setPreemption(ctx, call.enabled);
          ctx.metrics.inc("operator_preemption_updates");
          return undefined;
        },
      );
    case "operator.teardown": {
      const framework = ctx.frameworks.get(call.frameworkId);
      if (framework === undefined) {
        throw new AgoraError(ErrorCode.NotFound, `framework ${call.frameworkId} is not known`);
      }
      // a framework without a principal is matched like an unauthenticated one (ANY/NONE only)
      checkAll(ctx.authorizer, ctx, "teardown_frameworks", principal, [framework.info.principal]);
      ctx.metrics.inc("operator_teardowns");
      return teardownFramework(ctx, framework, "framework torn down by the operator");
    }
  }
}

/**
 * "Why not?" for one framework: the allocator's checks replayed on the
 * context a cycle would get now (policies/explain.ts), plus the offers it holds.
 * @throws AgoraError NOT_FOUND for an unknown framework or a role it has not
 */
export function explain(
  ctx: MasterContext,
  call: Pick<MessageOf<"operator.explain">, "frameworkId" | "role">,
): MessageOf<"operator.explanation"> {
  const framework = ctx.frameworks.get(call.frameworkId);
  if (framework === undefined) {
    throw new AgoraError(ErrorCode.NotFound, `unknown framework ${call.frameworkId}`);
  }
  if (call.role !== undefined && !framework.roles.includes(call.role)) {
    throw new AgoraError(
      ErrorCode.NotFound,
      `framework ${call.frameworkId} has not subscribed with role ${call.role}`,
    );
  }
  const context = buildContext(ctx);
  const roles = explainFramework(
    context,
    explainOrdering(ctx.policy.name),
    call.frameworkId,
    call.role,
  );
  const gangs = heldForGangs(ctx, call.frameworkId);
  ctx.metrics.inc("operator_explains");
  return {
    type: "operator.explanation",
    frameworkId: call.frameworkId,
    timestamp: context.now,
    policy: ctx.policy.name,
    roles: (roles ?? []).map((r) => {
      let offersOutstanding = 0;
      for (const offer of framework.offers) if (offer.role === r.role) offersOutstanding++;
      const reasons = r.reasons.map((reason) => ({ ...reason }));
      // what gangs hold is left out of the cycle's view: say so first
      if (gangs !== undefined) reasons.unshift(gangs);
      return { ...r, offersOutstanding, reasons };
    }),
  };
}

/**
 * Handles one operator call and shapes its reply for the wire: a state too
 * large for one message goes in parts when the caller asked for them
 * (`sendPart` gets all but the last; the last is the reply), else it is
 * refused with MESSAGE_TOO_LARGE.
 */
export function answerOperatorCall(
  ctx: MasterContext,
  controls: OperatorControls,
  call: OperatorCall,
  sendPart: (part: MessageOf<"operator.statePart">) => void,
  principal?: string,
): Message | undefined | Promise<Message | undefined> {
  const reply = handleOperatorCall(ctx, controls, call, principal);
  if (reply instanceof Promise || reply?.type !== "operator.state") return reply;
  const shaped = stateReply(reply);
  if (!Array.isArray(shaped)) return shaped;
  if (call.type !== "operator.getState" || call.parts !== true) {
    throw new AgoraError(
      ErrorCode.MessageTooLarge,
      `the state needs ${shaped.length} messages; ask with parts: true (as agora state does)`,
    );
  }
  for (const part of shaped.slice(0, -1)) sendPart(part);
  ctx.metrics.inc("state_replies_in_parts");
  return shaped.at(-1);
}
