/**
 * Operator calls on `master.operator` (Mesos's operator API): the state,
 * role weights, role quota and the allocation policy, each changeable while
 * the master runs. The role settings live in `roles.ts` (which validates them);
 * changes take effect from the next allocation cycle, which is requested at
 * once; outstanding offers are left alone (Mesos does not rescind offers on a
 * weight or quota update either).
 */
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { stateReply } from "../../protocol/parts.ts";
import type { Message, MessageOf } from "../../protocol/registry.ts";
import type { MasterContext } from "./model.ts";
import { removeRoleQuota, roleQuotas, roleWeights, setRoleQuota, setRoleWeights } from "./roles.ts";
import { masterState } from "./state.ts";

/** Call types accepted on `master.operator`. */
export const OPERATOR_CALL_TYPES = [
  "operator.getState",
  "operator.getWeights",
  "operator.setWeights",
  "operator.getQuota",
  "operator.setQuota",
  "operator.removeQuota",
  "operator.usePolicy",
] as const;
export type OperatorCall = MessageOf<(typeof OPERATOR_CALL_TYPES)[number]>;

/** What operator calls may change besides the master's records. */
export interface OperatorControls {
  /**
   * Switches the allocation policy.
   * @throws AgoraError INVALID_ID for a name that cannot be a subject token
   */
  usePolicy(name: string): void;
}

/** Controls of a master without a policy switch: `operator.usePolicy` is refused. */
export const NO_CONTROLS: OperatorControls = {
  usePolicy() {
    throw new AgoraError(ErrorCode.InvalidState, "this master cannot switch policies");
  },
};

/** Handles one operator call; returns its reply (`undefined` means `ok`). */
export function handleOperatorCall(
  ctx: MasterContext,
  controls: OperatorControls,
  call: OperatorCall,
): Message | undefined {
  switch (call.type) {
    case "operator.getState":
      return { type: "operator.state", state: masterState(ctx) };
    case "operator.getWeights":
      return { type: "operator.weights", weights: roleWeights(ctx) };
    case "operator.setWeights":
      setRoleWeights(ctx, call.weights);
      ctx.logger.info({ weights: call.weights }, "role weights updated");
      ctx.metrics.inc("operator_weight_updates");
      return undefined;
    case "operator.getQuota":
      return { type: "operator.quota", quotas: roleQuotas(ctx) };
    case "operator.setQuota":
      setRoleQuota(ctx, call.role, { guarantee: call.guarantee, limit: call.limit });
      ctx.logger.info(
        { role: call.role, guarantee: call.guarantee, limit: call.limit },
        "role quota updated",
      );
      ctx.metrics.inc("operator_quota_updates");
      return undefined;
    case "operator.removeQuota":
      removeRoleQuota(ctx, call.role);
      ctx.logger.info({ role: call.role }, "role quota removed");
      ctx.metrics.inc("operator_quota_updates");
      return undefined;
    case "operator.usePolicy":
      controls.usePolicy(call.name);
      return undefined;
  }
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
): Message | undefined {
  const reply = handleOperatorCall(ctx, controls, call);
  if (reply?.type !== "operator.state") return reply;
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
