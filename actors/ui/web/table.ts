/**
 * A virtualized table: only the rows in view (plus a few) are in the DOM, so
 * 100,000 rows cost what 40 do.
 */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { html } from "./html.ts";

export interface Column<T> {
  title: string;
  /** CSS width, e.g. `12em` or `1fr`. */
  width: string;
  cell(row: T): ComponentChildren;
}

const ROW_HEIGHT = 26;
const OVERSCAN = 10;

export function VirtualTable<T>(props: {
  rows: readonly T[];
  columns: readonly Column<T>[];
  rowKey(row: T): string;
  /** Pixels; the table scrolls inside. */
  height?: number;
  testid?: string;
}) {
  const [top, setTop] = useState(0);
  const height = props.height ?? 560;
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(props.rows.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
  const template = props.columns.map((c) => c.width).join(" ");
  const visible = props.rows.slice(first, last);
  return html`<div class="vtable" data-testid=${props.testid}>
    <div class="vrow vhead" style=${{ gridTemplateColumns: template }}>
      ${props.columns.map((c) => html`<div class="vcell">${c.title}</div>`)}
    </div>
    <div
      class="vbody"
      style=${{ height: `${height}px` }}
      onScroll=${(e: Event) => setTop((e.currentTarget as HTMLElement).scrollTop)}
    >
      <div style=${{ height: `${props.rows.length * ROW_HEIGHT}px`, position: "relative" }}>
        ${visible.map(
          (row, i) => html`<div
            class="vrow"
            key=${props.rowKey(row)}
            data-key=${props.rowKey(row)}
            style=${{
              gridTemplateColumns: template,
              position: "absolute",
              top: `${(first + i) * ROW_HEIGHT}px`,
              height: `${ROW_HEIGHT}px`,
              left: 0,
              right: 0,
            }}
          >
            ${props.columns.map((c) => html`<div class="vcell">${c.cell(row)}</div>`)}
          </div>`,
        )}
      </div>
    </div>
    <div class="vcount">${props.rows.length} rows</div>
  </div>`;
}
