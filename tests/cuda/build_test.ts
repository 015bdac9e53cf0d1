/** cuda/build.ts: with CUDA or not, and a CPU-only build staying one until asked otherwise. */
import assert from "node:assert/strict";
import { cudaChoice } from "../../cuda/build.ts";

Deno.test("the build's CUDA choice: HOGWILD_CUDA when set, else the one the build folder remembers, else ON", () => {
  const cases: [string | undefined, string | undefined, string][] = [
    [undefined, undefined, "ON"], // a fresh clone: CUDA whenever nvcc is found
    [undefined, "OFF", "OFF"], // after build:cpu, a plain build (and every task that builds first) stays CPU-only
    [undefined, "ON", "ON"],
    ["ON", "OFF", "ON"], // asked otherwise
    ["OFF", "ON", "OFF"],
    ["off", undefined, "OFF"],
  ];
  for (const [env, configured, want] of cases) assert.equal(cudaChoice(env, configured), want, `${env} ${configured}`);
  assert.throws(() => cudaChoice("yes", "ON"), /HOGWILD_CUDA: expected ON or OFF, got "yes"/);
});
