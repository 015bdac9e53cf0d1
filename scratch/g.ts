import { grade } from "../tasks/grader.ts";
const lines = Deno.readTextFileSync("tests/tasks/grader_cases.jsonl").trim().split("\n").map((l) => JSON.parse(l));
let bad = 0;
for (const c of lines) {
  const t = performance.now();
  const g = grade(c.pred, c.gold);
  const ms = performance.now() - t;
  if (g.equal_strict !== c.strict || g.equal_lenient !== c.lenient || ms > 200) { bad++; console.log(JSON.stringify(c), "->", g.equal_strict, g.equal_lenient, g.extracted, ms.toFixed(0)); }
}
console.log(bad, "of", lines.length, "wrong");
