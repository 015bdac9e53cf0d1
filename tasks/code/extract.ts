/**
 * The program in a model's answer, found as LiveCodeBench's runner finds it (extraction_utils.extract_code, for
 * chat models): the lines of the text (split at "\n") that contain three backticks anywhere are fence lines;
 * with fewer than two there is no program; otherwise the program is the lines strictly between the last two.
 *
 * What follows from the rule, on purpose identical to LiveCodeBench:
 * - several code blocks: the last one counts (a draft earlier in the reasoning does not);
 * - the language tag is not read (```python, ```py, ``` alike), and text after the closing backticks on the
 *   fence line is dropped with the line;
 * - a line holding ``` for another reason (a string "```" in the program, prose quoting a fence) is a fence
 *   line too, so such a program is cut there;
 * - `~~~` fences and indented code are not recognised;
 * - two fence lines with nothing between give the empty program "" (which then fails its tests), not none.
 */

/** The program of `text`, or undefined when fewer than two lines hold a fence. */
export function extractCode(text: string): string | undefined {
  const lines = text.split("\n");
  const fences: number[] = [];
  lines.forEach((line, i) => {
    if (line.includes("```")) fences.push(i);
  });
  if (fences.length < 2) return undefined;
  return lines.slice(fences[fences.length - 2] + 1, fences[fences.length - 1]).join("\n");
}
