/**
 * The agent's registration and recovery lifecycle, as Mesos's agent:
 *
 * ```
 * idle ─START→ recovering ─RECOVERED→ registering.requesting ─REGISTERED→ registered
 *                                        ↑   │FAILED      ↑ REFUSED (id forgotten)    │
 *                                        │   ↓            │                           │ MASTER_LOST
 *                                        └─ registering.backoff ←─────────────────────┘
 *                          registered ─REREGISTER→ registering.requesting
 * any ─STOP→ stopped
 * ```
 *
 * `registering` registers (no id) or reregisters (with the checkpointed id
 * and the running tasks); its retries back off exponentially with jitter
 * (`retryDelay`, provided by the Registrar: capped lower after a lost master
 * so that a failover brings every agent back within seconds). `registered`
 * heartbeats every `heartbeatInterval`. Effects are named actions the
 * Registrar provides; the request itself runs in the Registrar, which sends
 * the outcome back as an event.
 */
import { assign, setup } from "xstate";

/** What the machine keeps. */
export interface RegistrationContext {
  /** Failed attempts since the last success (drives the backoff). */
  attempt: number;
  /** The master's heartbeat interval in ms, once registered. */
  heartbeatMs: number;
  /** The agent lost a master it was registered with: retries use the failover cap. */
  lostMaster: boolean;
}

/** Events of the machine. */
export type RegistrationEvent =
  | { type: "START" }
  | { type: "RECOVERED" }
  | { type: "REGISTERED"; heartbeatMs: number }
  | { type: "FAILED" }
  | { type: "REFUSED" }
  | { type: "MASTER_LOST" }
  | { type: "REREGISTER" }
  | { type: "STOP" };

/** The machine; the Registrar provides every action and delay. */
export const registrationMachine = setup({
  types: {} as { context: RegistrationContext; events: RegistrationEvent },
  actions: {
    /** Reads the checkpoint and adopts live executors, then sends RECOVERED. */
    recover: () => {},
    /** Sends agent.register or agent.reregister; answers REGISTERED, FAILED or REFUSED. */
    sendRegistration: () => {},
    /** Sends agent.heartbeat; answers MASTER_LOST or REREGISTER when the master is gone. */
    sendHeartbeat: () => {},
    /** The master became unreachable: pause status updates. */
    disconnected: () => {},
  },
  delays: {
    /** The next retry: `backoff · 2^attempt`, capped, drawn in its upper half. */
    retryDelay: () => 1000,
    /** The master's heartbeat interval. */
    heartbeatInterval: ({ context }) => context.heartbeatMs,
  },
}).createMachine({
  id: "agentRegistration",
  initial: "idle",
  context: { attempt: 0, heartbeatMs: 1000, lostMaster: false },
  on: { STOP: ".stopped" },
  states: {
    idle: { on: { START: "recovering" } },
    recovering: {
      entry: "recover",
      on: { RECOVERED: "registering" },
    },
    registering: {
      initial: "requesting",
      states: {
        requesting: {
          entry: "sendRegistration",
          on: {
            FAILED: "backoff",
            REFUSED: { target: "requesting", reenter: true },
          },
        },
        backoff: {
          after: {
            retryDelay: {
              target: "requesting",
              actions: assign({ attempt: ({ context }) => Math.min(context.attempt + 1, 30) }),
            },
          },
          on: { REREGISTER: { target: "requesting", actions: assign({ attempt: 0 }) } },
        },
      },
      exit: assign({ attempt: 0 }),
      on: {
        REGISTERED: {
          target: "registered",
          actions: assign({
            heartbeatMs: ({ event }) => event.heartbeatMs,
            lostMaster: false,
          }),
        },
      },
    },
    registered: {
      after: {
        heartbeatInterval: { target: "registered", reenter: true, actions: "sendHeartbeat" },
      },
      on: {
        MASTER_LOST: {
          target: "registering.backoff",
          actions: ["disconnected", assign({ attempt: 0, lostMaster: true })],
        },
        REREGISTER: { target: "registering.requesting", actions: "disconnected" },
      },
    },
    stopped: { type: "final" },
  },
});
