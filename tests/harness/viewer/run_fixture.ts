/** The viewer tests' run folders: the perf's sample run, its first problem carrying strings that must stay text. */
import { writeSampleRun } from "../../../harness/perf/sample_run.ts";
export { CHECK } from "../../../harness/perf/sample_run.ts";

/** Strings a page must show as text, never run or render as markup. */
export const INJECTIONS = [
  `<script>window.__pwned = "script"</script>`,
  `<img src=x onerror="window.__pwned = 'img'">`,
  `<a href="javascript:window.__pwned = 'link'">click</a>`,
  `</textarea><svg onload="window.__pwned = 'svg'"></svg>`,
];

/** `problems` problems × three methods (3 records each); problem 0's texts carry the injection strings. */
export const writeRun = (problems: number) => writeSampleRun(problems, INJECTIONS.join(" "));
