/**
 * Shared-cache pass scripts (the format of the fixtures' hogwild-script.json): named blocks, one forward
 * pass per script pass, every row's logits for every new token. The engine's own exercise of the rule.
 */
import type { KVCache } from "./cache.ts";
import type { Block } from "./cache.ts";
import { check } from "./errors.ts";
import type { Engine, ForwardOptions } from "./model.ts";
import type { Row } from "./plan.ts";

export interface ScriptRow {
  block: string;
  view: string[];
  tokens: number[];
}
export interface Script {
  passes: { rows: ScriptRow[] }[];
}

/** Checks the shape of a parsed script; `file` names it in errors. */
export function parseScript(v: unknown, file: string, vocab: number): Script {
  const obj = v as { passes?: unknown };
  check(obj && typeof obj === "object" && Array.isArray(obj.passes), `${file}: expected {"passes": [...]}`);
  for (const [i, pass] of obj.passes.entries()) {
    const rows = (pass as { rows?: unknown })?.rows;
    check(Array.isArray(rows) && rows.length > 0, `${file}: passes[${i}].rows must be a non-empty list`);
    const written = new Set<string>();
    for (const [j, r] of rows.entries()) {
      const at = `${file}: passes[${i}].rows[${j}]`;
      check(typeof r?.block === "string", `${at}.block must be a string`);
      check(!written.has(r.block), `${at}.block "${r.block}" is written by two rows of one pass`);
      written.add(r.block);
      check(
        Array.isArray(r.view) && r.view.every((b: unknown) => typeof b === "string"),
        `${at}.view must be a list of block names`,
      );
      const own = r.view.filter((b: string) => b === r.block).length;
      check(own === 1, `${at}.view must hold its own block "${r.block}" exactly once (it holds it ${own} times)`);
      check(Array.isArray(r.tokens) && r.tokens.length > 0, `${at}.tokens must be a non-empty list`);
      for (const [k, t] of r.tokens.entries()) {
        check(
          Number.isInteger(t) && t >= 0 && t < vocab,
          `${at}.tokens[${k}] = ${JSON.stringify(t)} is not a token id in [0, ${vocab})`,
        );
      }
    }
  }
  // A view may only name blocks that exist by the time its pass runs (written in this pass or before).
  const seen = new Set<string>();
  for (const [i, pass] of (obj as Script).passes.entries()) {
    for (const r of pass.rows) seen.add(r.block);
    for (const [j, r] of pass.rows.entries()) {
      for (const b of r.view) {
        check(seen.has(b), `${file}: passes[${i}].rows[${j}].view names block "${b}", which no row has written yet`);
      }
    }
  }
  return obj as Script;
}

/** Runs the script; returns logits[pass][row] as [new tokens][vocab] flattened (or the last token's only). */
export function runScript(
  engine: Engine,
  cache: KVCache,
  script: Script,
  opts: ForwardOptions & { logits?: "all" | "last" } = {},
): Float32Array[][] {
  const blocks = new Map<string, Block>();
  const block = (name: string) => {
    let b = blocks.get(name);
    if (!b) blocks.set(name, b = cache.newBlock(name));
    return b;
  };
  return script.passes.map((pass) => {
    const rows: Row[] = pass.rows.map((r) => ({
      block: block(r.block),
      view: r.view.map(block),
      tokens: r.tokens,
      logits: opts.logits ?? "all",
    }));
    return engine.forward(cache, rows, opts).map((l) => l.slice());
  });
}

/** Tokens a script writes in all (a cache of this size holds it). */
export function scriptTokens(script: Script): number {
  return script.passes.reduce((a, p) => a + p.rows.reduce((b, r) => b + r.tokens.length, 0), 0);
}
