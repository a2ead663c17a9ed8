import test from "ava";
import { type CycleSeries, fullCycleRatios } from "../../../bench/phases/allocation.ts";

const series = (scenario: CycleSeries["scenario"], medianMs: number): CycleSeries => ({
  agents: 50_000,
  frameworks: 100,
  scenario,
  cycles: 3,
  medianMs,
  p99Ms: medianMs,
  maxMs: medianMs,
  policyMedianMs: 1,
  offers: [],
  cycleMs: [],
});

test("bench allocation - full cycles as ratios to the bare publish time and to churn", (t) => {
  // 1,000,000 messages/s: 50,000 messages take 50 ms
  const figures = fullCycleRatios(
    [series("free", 10), series("busy", 20), series("churn", 4)],
    1e6,
  );
  t.deepEqual(
    figures.map((f) => [f.name.trim(), f.value, f.baseline?.value, f.target, f.pass]),
    [
      [
        "÷ NATS publish of 50000 bare messages (50000 agents × 100 fw, free)",
        0.2,
        50,
        "≤ 0.25",
        true,
      ],
      ["÷ churn cycle (50000 agents × 100 fw, free)", 2.5, 4, undefined, undefined],
      [
        "÷ NATS publish of 50000 bare messages (50000 agents × 100 fw, busy)",
        0.4,
        50,
        "≤ 0.25",
        false,
      ],
      ["÷ churn cycle (50000 agents × 100 fw, busy)", 5, 4, undefined, undefined],
    ],
  );
});

test("bench allocation - no publish rate: the ratio is unknown, not a pass", (t) => {
  const [figure] = fullCycleRatios([series("filtered", 10)], undefined);
  t.is(figure?.value, undefined);
  t.is(figure?.pass, undefined);
});
