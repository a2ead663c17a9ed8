/** A uPlot line chart of the model's time series, updated in place with setData. */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { num } from "./format.ts";
import { html } from "./html.ts";

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
}

const PALETTE = ["#2f6fdb", "#e0682b", "#2a9d5c", "#a23bc4", "#c9a400", "#d43b5b", "#3bb7c4"];
export const color = (i: number): string => PALETTE[i % PALETTE.length] as string;

export function Chart(props: {
  title: string;
  times: number[];
  series: Series[];
  /** Y axis as a percentage of 0..1 values. */
  percent?: boolean;
  testid?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => s.label).join("|");
  const data = [
    props.times.map((t) => t / 1000),
    ...props.series.map((s) => s.values),
  ] as uPlot.AlignedData;
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const opts: uPlot.Options = {
      title: props.title,
      width: Math.max(300, el.clientWidth),
      height: 200,
      series: [
        {},
        ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: true })),
      ],
      axes: [
        {},
        {
          size: 64,
          values: (_u: uPlot, ticks: number[]) =>
            ticks.map((v) => (props.percent ? `${Math.round(v * 100)}%` : num(v))),
        },
      ],
      scales: props.percent ? { y: { range: [0, 1] } } : {},
    };
    plot.current = new uPlot(opts, data, el);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
    // a new chart only when its series change; data goes in with setData below
  }, [shape, props.title]);
  useEffect(() => {
    plot.current?.setData(data);
  });
  return html`<div class="chart" ref=${box} data-testid=${props.testid}></div>`;
}
