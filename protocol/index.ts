/**
 * The public surface of agora's protocol: subjects, schemas, codec, errors,
 * resources and lifecycles. Actors and users import from here.
 */

export {
  AgentAcknowledge,
  AgentFrameworkMessage,
  AgentHeartbeat,
  AgentKillTask,
  AgentMessage,
  AgentRegister,
  AgentRegistered,
  AgentReregister,
  AgentReregisterRequest,
  AgentRunTask,
  AgentShutdown,
  AgentShutdownFramework,
  AgentUpdate,
  AgentUsage,
  ExecutorUsage,
  FrameworkRef,
  MAX_USAGE_EXECUTORS,
  ResourceStatistics,
  RunningTask,
} from "./agents.ts";
export {
  decode,
  decodeAs,
  decodeMessages,
  decodeReply,
  encode,
  encodeBatch,
  encodeError,
  MAX_BATCH_MESSAGES,
  MAX_MESSAGE_BYTES,
} from "./codec.ts";
export {
  Attributes,
  CommandInfo,
  ExecutorInfo,
  Filters,
  isTerminalState,
  Offer,
  ResourcesJson,
  TaskInfo,
  TaskReason,
  TaskSource,
  TaskState,
  TaskStatus,
  TERMINAL_TASK_STATES,
} from "./common.ts";
export type { AgoraErrorOptions, WireError } from "./errors.ts";
export {
  AgoraError,
  ErrorCode,
  isAgoraError,
  ProtocolError,
} from "./errors.ts";
export { FILES_READ_MAX_LENGTH, FilesData, FilesRead, SandboxFile } from "./files.ts";
export { FrameworkCapability, FrameworkInfo, LaunchOperation } from "./frameworks.ts";
export {
  HealthCheck,
  HealthCheckType,
  HttpCheckInfo,
  healthCheckProblem,
  KillPolicy,
  parseHealthCheck,
  TcpCheckInfo,
  validateHealthCheck,
} from "./health.ts";
export {
  AgentEvent,
  AgentState,
  agentLifecycle,
  agentMachine,
} from "./lifecycles/agent.machine.ts";
export {
  FrameworkEvent,
  FrameworkState,
  frameworkLifecycle,
  frameworkMachine,
} from "./lifecycles/framework.machine.ts";
export type { Lifecycle } from "./lifecycles/lifecycle.ts";
export {
  OfferEvent,
  OfferState,
  offerLifecycle,
  offerMachine,
} from "./lifecycles/offer.machine.ts";
export { taskLifecycle, taskMachine } from "./lifecycles/task.machine.ts";
export { MasterState } from "./operator.ts";
export type { Message, MessageOf, MessageType } from "./registry.ts";
export { MESSAGE_TYPES } from "./registry.ts";
export { Resources, UNRESERVED_ROLE } from "./resources.ts";
export {
  assertValidId,
  ClusterEventKind,
  DEFAULT_SUBJECT_PREFIX,
  isValidId,
  PROTOCOL_VERSION,
  Subjects,
} from "./subjects.ts";
export {
  CommandUri,
  CommandUris,
  MAX_COMMAND_URIS,
  MAX_OUTPUT_FILE_LENGTH,
  MAX_URI_LENGTH,
} from "./uris.ts";
