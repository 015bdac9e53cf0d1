/**
 * The live feed: every pass's text reaches the page, the last one too (a run ends inside its pass); a text that
 * was cut back reaches it whole.
 */
import assert from "node:assert/strict";
import { LiveRuns, LiveTap } from "../../../harness/viewer/live.ts";
import type { LiveEvent } from "../../../harness/viewer/server.ts";
import type { Solver } from "../../../harness/generation/solver.ts";

/** A solver's face as the tap reads it: texts that grow pass by pass. */
function fakeSolver(texts: string[]) {
  const s = { texts: () => texts.slice(), names: () => ["Alice", "Bob"], steps: [], passes: 0 };
  return { solver: s as unknown as Solver, write: (i: number, t: string) => (texts[i] += t, s.passes++) };
}

Deno.test("live: a run's appends add up to its final text; the pass it ended in is sent before its end", () => {
  const events: LiveEvent[] = [];
  const tap = new LiveTap((e) => events.push(e));
  const { solver, write } = fakeSolver(["", ""]);
  tap.track("k", { task: "t", problem_id: "p", method: "hogwild:2", seed: 1 }, solver);
  write(0, "Hel"), write(1, "Wo"), tap.tick();
  tap.tick(); // nothing new: nothing sent
  write(0, "lo"), write(1, "rld");
  tap.finish("k"); // as the bench does: the run's end is seen inside the pass, before its tick
  tap.tick();
  tap.finish("k"); // twice: once
  assert.deepEqual(events.map((e) => e.type), ["start", "pass", "pass", "done"]);
  const sent = [0, 1].map((i) => events.flatMap((e) => e.type === "pass" ? [(e.append as string[])[i]] : []).join(""));
  assert.deepEqual(sent, ["Hello", "World"]);
});

/** Each writer's text as the page builds it from the events: appended, or replaced on a reset. */
function shown(events: LiveEvent[]): string[] {
  const texts: string[] = [];
  for (const e of events.filter((e) => e.type === "pass")) {
    (e.append as string[]).forEach((a, i) => texts[i] = (e.reset ? "" : texts[i] ?? "") + a);
  }
  return texts;
}

Deno.test("live: a text cut back (as LeaP's cut takes a paragraph back) is sent whole with a reset, never spliced", () => {
  const events: LiveEvent[] = [];
  const tap = new LiveTap((e) => events.push(e));
  const texts = ["", ""];
  const { solver, write } = fakeSolver(texts);
  tap.track("k", { task: "t", problem_id: "p", method: "leap:2:cut", seed: 1 }, solver);
  write(0, "2 + 9 = 11.\n\nThen 14"), write(1, "Wo"), tap.tick();
  texts[0] = "2 + 9 = 11.\n\nLet me pause"; // as long as, and then longer than, what was sent: no append tells
  tap.tick();
  assert.deepEqual(shown(events), texts);
  texts[0] = "2 + 9 = 11.\n\n"; // shorter
  write(1, "rld"), tap.tick();
  assert.deepEqual(shown(events), texts);
  write(0, "Where I stand"), tap.tick();
  assert.deepEqual(shown(events), texts);
  assert.deepEqual(events.map((e) => e.reset ?? false), [false, false, true, true, false]);
});

Deno.test("live: the viewer's own record of the runs in flight, built from the events alone, is what a page built from them all shows", () => {
  const events: LiveEvent[] = [], runs = new LiveRuns();
  const tap = new LiveTap((e) => (events.push(e), runs.apply(e)));
  const texts = ["", ""], { solver, write } = fakeSolver(texts);
  const other = fakeSolver(["", ""]);
  tap.track("k", { task: "t", problem_id: "p", method: "leap:2:cut", seed: 1 }, solver);
  tap.track("j", { task: "t", problem_id: "q", method: "hogwild:2", seed: 1 }, other.solver);
  assert.deepEqual(runs.snapshot().map((e) => [e.type, e.key, e.append]), [
    ["start", "k", undefined],
    ["pass", "k", []],
    ["start", "j", undefined],
    ["pass", "j", []],
  ]);
  write(0, "2 + 9 = 11.\n\nThen"), write(1, "Wo"), other.write(0, "x"), tap.tick();
  texts[0] = "2 + 9 = 11.\n\n", tap.tick(); // cut back: sent whole
  write(1, "rld"), tap.tick();
  const snapshot = runs.snapshot().filter((e) => e.key === "k");
  assert.deepEqual(snapshot.map((e) => e.type), ["start", "pass"]);
  assert.deepEqual(snapshot[0], { ...events[0], names: ["Alice", "Bob"] });
  assert.deepEqual(snapshot[1].append, texts, "every text so far");
  assert.deepEqual(shown(snapshot), shown(events.filter((e) => e.key === "k")));
  assert.equal(snapshot[1].pass, 3, "the last pass sent");
  tap.finish("k");
  assert.deepEqual(runs.snapshot().map((e) => e.key), ["j", "j"], "a run ended is no longer in flight");
});
