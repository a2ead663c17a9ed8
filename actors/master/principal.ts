/**
 * The authenticated principal of a scheduler call. The NATS server lets a
 * framework's credential publish only under its own principal
 * (`master.subscribe.<principal>`, `master.framework.<principal>.<id>`;
 * protocol/permissions.ts), so the subject's principal token is who sent the
 * call. The master checks that the framework named by a call belongs to that
 * principal, rejects anything else with PRINCIPAL_MISMATCH and counts it
 * (`framework_calls_principal_mismatch`).
 */
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { FrameworkInfo } from "../../protocol/frameworks.ts";
import { DEFAULT_PRINCIPAL, frameworkPrincipal, type Subjects } from "../../protocol/subjects.ts";
import type { MasterContext } from "./model.ts";

/**
 * The principal a scheduler call came from: the principal token of its
 * `master.subscribe.<p>` or `master.framework.<p>.<id>` subject. The one
 * place the master's handlers (and its authorizer) learn who called.
 * @throws AgoraError INVALID_ID when the subject is neither
 */
export function callPrincipal(subjects: Subjects, subject: string): string {
  const principal =
    subjects.parseMasterSubscribe(subject) ?? subjects.parseMasterFramework(subject)?.principal;
  if (principal === undefined) {
    throw new AgoraError(
      ErrorCode.InvalidId,
      `subject ${subject.slice(0, 300)} carries no valid principal`,
    );
  }
  return principal;
}

/**
 * The principal of an operator call on `master.operator.<principal>`, as the
 * ACLs see it: undefined (unauthenticated) for {@link DEFAULT_PRINCIPAL}.
 * @throws AgoraError INVALID_ID when the subject is not an operator subject
 */
export function operatorPrincipal(subjects: Subjects, subject: string): string | undefined {
  const principal = subjects.parseMasterOperator(subject);
  if (principal === undefined) {
    throw new AgoraError(
      ErrorCode.InvalidId,
      `subject ${subject.slice(0, 300)} carries no valid principal`,
    );
  }
  return principal === DEFAULT_PRINCIPAL ? undefined : principal;
}

/**
 * A message on `master.agent.<principal>.<agentId>`: the agent, when known,
 * must have been registered by that agent principal (an agent credential may
 * publish only under its own principal, so this is who sent it).
 * @throws AgoraError PRINCIPAL_MISMATCH (counted as `agent_calls_principal_mismatch`)
 */
export function checkAgentPrincipal(ctx: MasterContext, principal: string, agentId: string): void {
  const agent = ctx.agents.get(agentId);
  if (agent === undefined || agent.principal === principal) return;
  ctx.metrics.inc("agent_calls_principal_mismatch");
  ctx.logger.warn({ agentId, principal }, "agent message rejected: principal mismatch");
  throw new AgoraError(
    ErrorCode.PrincipalMismatch,
    `agent ${agentId} was registered by another agent principal than ${JSON.stringify(principal)}`,
    { retryable: false },
  );
}

function mismatch(ctx: MasterContext, message: string): AgoraError {
  ctx.metrics.inc("framework_calls_principal_mismatch");
  ctx.logger.warn({ reason: message }, "scheduler call rejected: principal mismatch");
  return new AgoraError(ErrorCode.PrincipalMismatch, message, { retryable: false });
}

/**
 * A `scheduler.subscribe` on `master.subscribe.<principal>`: FrameworkInfo's
 * principal must be that principal, and a resubscription may only take over
 * a framework of the same principal.
 * @throws AgoraError PRINCIPAL_MISMATCH (counted)
 */
export function checkSubscribePrincipal(
  ctx: MasterContext,
  principal: string,
  info: FrameworkInfo,
): void {
  const claimed = frameworkPrincipal(info);
  if (claimed !== principal) {
    throw mismatch(
      ctx,
      `FrameworkInfo.principal ${JSON.stringify(claimed)} does not match the subject's principal ${JSON.stringify(principal)}`,
    );
  }
  const id = info.frameworkId;
  const existing = id === undefined ? undefined : ctx.frameworks.get(id);
  if (existing !== undefined && frameworkPrincipal(existing.info) !== principal) {
    throw mismatch(ctx, `framework ${id} belongs to another principal`);
  }
}

/**
 * A call on `master.framework.<principal>.<frameworkId>`: the framework, when
 * known, must belong to that principal.
 * @throws AgoraError PRINCIPAL_MISMATCH (counted)
 */
export function checkFrameworkPrincipal(
  ctx: MasterContext,
  principal: string,
  frameworkId: string,
): void {
  const framework = ctx.frameworks.get(frameworkId);
  if (framework !== undefined && frameworkPrincipal(framework.info) !== principal) {
    throw mismatch(ctx, `framework ${frameworkId} belongs to another principal`);
  }
}

/** The principal whose event subject carries a framework's events (its FrameworkInfo's). */
export function principalOfFramework(ctx: MasterContext, frameworkId: string): string {
  return frameworkPrincipal(ctx.frameworks.get(frameworkId)?.info);
}
