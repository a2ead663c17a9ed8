/**
 * Preloaded into the bench's master process (`node --expose-gc
 * --import ./bench/heap-probe.mjs ...`): on SIGUSR2 it runs a full garbage
 * collection and writes one line `heap-probe {process.memoryUsage() JSON}`
 * to stderr. What is live after a full collection is what the master's
 * records really hold; VmRSS also counts garbage not yet collected and the
 * room V8 keeps for its heap. Plain JavaScript so that it loads before any
 * TypeScript loader.
 */
const gc = globalThis.gc;
if (typeof gc === "function") {
  process.on("SIGUSR2", () => {
    gc();
    process.stderr.write(`heap-probe ${JSON.stringify(process.memoryUsage())}\n`);
  });
}
