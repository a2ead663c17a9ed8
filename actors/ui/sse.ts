/**
 * The browsers following the UI: one server-sent-events response each. A
 * browser gets `hello` (the current batch number) when it connects, then one
 * `changes` message per batch, and `reset` when the model was reloaded (it
 * fetches the snapshot again). A browser that does not keep up is dropped; its
 * EventSource reconnects and starts over from a snapshot.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { UI_MAX_CLIENT_BACKLOG_BYTES } from "../../infra/defaults.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { ChangeBatch } from "./model.ts";

export class SseClients {
  readonly #clients = new Set<ServerResponse>();
  readonly #metrics: Metrics;

  constructor(metrics: Metrics) {
    this.#metrics = metrics;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Takes over a response as an event stream; `seq` is the batch the browser starts after. */
  open(req: IncomingMessage, res: ServerResponse, seq: number): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ seq })}\n\n`);
    this.#clients.add(res);
    const drop = () => this.#clients.delete(res);
    req.on("close", drop);
    res.on("error", drop);
  }

  /** Sends a batch of changes to every browser. */
  changes(batch: ChangeBatch): void {
    this.#send(`event: changes\ndata: ${JSON.stringify(batch)}\n\n`);
  }

  /** Tells every browser to fetch the snapshot again. */
  reset(seq: number): void {
    this.#send(`event: reset\ndata: ${JSON.stringify({ seq })}\n\n`);
  }

  #send(frame: string): void {
    for (const res of this.#clients) {
      if (res.writableLength > UI_MAX_CLIENT_BACKLOG_BYTES) {
        this.#metrics.inc("ui_clients_dropped_slow");
        this.#clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(frame);
    }
  }

  closeAll(): void {
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}
