/** The paper's Table 1 on this device, beside the paper's own rows (deno task perf --paper-table). */
import paper from "../reference/paper.json" with { type: "json" };
import { loadNative } from "../../engine/native.ts";
import { floorBandwidth, loadPerfModel, type PerfModel, timeInTurn, turnTokens } from "./engine.ts";

// Imported, not read from a file: the device kit's bundle carries it.
const TABLE1 = paper.table1 as {
  source: string;
  card: string;
  contexts: number[];
  tokens_per_s: Record<string, number[]>;
  latency_ms: Record<string, number[]>;
  generate_s: Record<string, number[]>;
};

/**
 * The paper's Table 1 on this device, beside the paper's own rows: tokens per second and latency per forward
 * pass for 1, 2 and 4 workers over 1k–16k cached tokens (measured), and the time to generate N tokens summed
 * over workers (the measured latencies, interpolated, summed over the N / workers passes of a cache growing
 * from empty to N).
 */
export async function paperTable(values: PerfModel, iterations: number) {
  const contexts = TABLE1.contexts, workers = [1, 2, 4];
  floorBandwidth(values.device); // refuses a missing GPU before loading
  // the paper's contexts past the model's positions (or this machine's memory) refused before hours of timing
  const cacheTokens = turnTokens(contexts, workers);
  const { engine } = await loadPerfModel(values, {
    contexts,
    most: 4,
    cacheTokens,
    where: "--paper-table: the paper's context",
  });
  const cache = engine.newCache({ tokens: cacheTokens });
  const points = [0, ...contexts];
  // each context's worker counts timed in turn (timeInTurn), so that their ratios compare one minute's passes
  const latency = new Map<number, number[]>(workers.map((R) => [R, []]));
  for (const C of points) {
    const timed = await timeInTurn(engine, cache, C, workers, iterations);
    workers.forEach((R, i) => latency.get(R)!.push(timed[i].ms));
  }
  const at = (R: number, c: number) => {
    const ms = latency.get(R)!, k = Math.max(1, points.findIndex((p) => p >= c));
    const [c0, c1] = [points[k - 1], points[k] ?? points[k - 1]];
    return c1 === c0 ? ms[k - 1] : ms[k - 1] + (ms[k] - ms[k - 1]) * Math.min(1, (c - c0) / (c1 - c0));
  };
  const generate = (R: number, N: number) => {
    let ms = 0;
    for (let i = 0; i < N / R; i++) ms += at(R, i * R);
    return ms / 1000;
  };
  const here = `${engine.native.device === "cuda" ? loadNative().cudaInfo().name : "this CPU"}, ${values.model}`;
  console.log(
    `# The paper's Table 1 on ${here} (median of ${iterations} passes), beside ${TABLE1.card} (${TABLE1.source})\n`,
  );
  console.log(`| metric | workers | where | ${contexts.join(" | ")} |`);
  console.log(`|---|---:|---|${contexts.map(() => "---:").join("|")}|`);
  const row = (metric: string, R: number, where: string, xs: number[], digits: number) =>
    console.log(`| ${metric} | ${R} | ${where} | ${xs.map((x) => x.toFixed(digits)).join(" | ")} |`);
  const ours = (f: (R: number, c: number, i: number) => number) => (R: number) =>
    contexts.map((c, i) => f(R, c, i + 1));
  const metrics: [string, (R: number) => number[], Record<string, number[]>, number][] = [
    ["tokens/s", ours((R, _c, i) => R * 1000 / latency.get(R)![i]), TABLE1.tokens_per_s, 1],
    ["latency/forward (ms)", ours((R, _c, i) => latency.get(R)![i]), TABLE1.latency_ms, 1],
    ["time to generate N tokens (s)", ours((R, c) => generate(R, c)), TABLE1.generate_s, 1],
  ];
  for (const [metric, mine, paper, digits] of metrics) {
    for (const R of workers) {
      row(metric, R, "here", mine(R), digits);
      row(metric, R, TABLE1.card, paper[String(R)], digits);
    }
  }
  // the first point of every interpolation, not a column of the paper's table
  console.log(
    `\nAn empty cache's pass (ms), where the time to generate N starts: ${
      workers.map((R) => `${R} worker${R > 1 ? "s" : ""} ${latency.get(R)![0].toFixed(1)}`).join(", ")
    }. That time is the sum of the passes' latencies; the paper's was its generation loop measured whole.`,
  );
}
