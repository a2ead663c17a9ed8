/** Preact with htm templates: `html\`<div>...</div>\`` without a JSX build step. */
import htm from "htm";
import { h, type VNode } from "preact";

export const html = htm.bind(h) as (strings: TemplateStringsArray, ...values: unknown[]) => VNode;
