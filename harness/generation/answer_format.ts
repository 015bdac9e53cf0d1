/**
 * What an answer looks like in a task's text: a boxed expression (the maths tasks) or a fenced program (the
 * code tasks). Where the runs over a layout and the solver read answers out of generated text: the answer
 * already written at a checkpoint, the early stop, self-consistency's vote, and where the finisher's answer ends.
 * The families refused for code tasks (Family.codeTasks) read their boxes with lastBoxed themselves.
 */
import { lastBoxed } from "../../tasks/grading/answer.ts";
import { mathsVoteKey } from "../../tasks/grading/equivalence.ts";
import { extractCode } from "../../tasks/code/extract.ts";
import type { Grading } from "../../tasks/problem.ts";

export interface AnswerFormat {
  readonly id: "boxed" | "code";
  /**
   * the answer written last in `text` (generated text only), if any; `open`: its writers may still add to it
   * (a checkpoint mid-run), so it may stop inside an answer; never "" (an empty box, `\boxed{ }`, is no answer)
   */
  written(text: string, open: boolean): string | undefined;
  /** a step holding an answer ends the run (the paper's early stop; a program drafted mid-thought does not) */
  readonly endsRun: boolean;
  /** the finisher's answer from what it wrote after the cue once the answer is closed (null: closed empty; undefined: open) */
  closed(after: string): string | null | undefined;
  /** the finisher's answer when it stops unclosed (its token limit, or an end of sequence) */
  cut(after: string): string | null;
  /** the template files' suffix for this format ("" for the maths templates) */
  readonly templateSuffix: string;
  /** the group an answer votes with (voteKey): answers of one key are one answer to a vote and to maj@k */
  voteKey(answer: string): string;
}

/** The last box of `text`, undefined where there is none or it holds nothing (`\boxed{}`, `\boxed{ }`: no answer). */
function boxedAnswer(text: string): string | undefined {
  const box = lastBoxed(text);
  return box?.trim() ? box : undefined;
}

export const BOXED: AnswerFormat = {
  id: "boxed",
  written: (text) => boxedAnswer(text),
  endsRun: true,
  // closed empty: null, as CODE's; a "" would vote in a majority
  closed: (after) => {
    const box = lastBoxed("\\boxed{" + after);
    return box === undefined ? undefined : box.trim() ? box : null;
  },
  cut: () => null,
  templateSuffix: "",
  voteKey: mathsVoteKey,
};

/** The fence that ends the finisher's program: a line that starts with three backticks. */
const CLOSING_FENCE = /(^|\n)```/;

/**
 * A text still being written, up to the fence that opens a block left open (an odd count of fence lines: lines
 * that start with ```, or end in ``` and a language tag at most, as a step's header before it makes them),
 * whole otherwise: LiveCodeBench's extraction over a text cut inside a block would take the prose between two
 * blocks for the program. Backticks inside a line of prose ("in one ```python block.") open nothing here;
 * LiveCodeBench's rule still counts them, over the closed part.
 */
const FENCE = /^\s*```|```[\w+#.-]*\s*$/;

function closedBlocks(text: string): string {
  const lines = text.split("\n"), fences = lines.flatMap((l, i) => (FENCE.test(l) ? [i] : []));
  return fences.length % 2 ? lines.slice(0, fences[fences.length - 1]).join("\n") : text;
}

export const CODE: AnswerFormat = {
  id: "code",
  // A text that ended is read by LiveCodeBench's rule exactly (its runner grades ended texts, cut or not); an
  // empty last block is no program (the finisher is asked), where `grade --cases`, with no finisher, fails it.
  written: (text, open) => extractCode(open ? closedBlocks(text) : text) || undefined,
  endsRun: false,
  closed: (after) => {
    const m = CLOSING_FENCE.exec(after);
    return m ? (after.slice(0, m.index).trim() ? after.slice(0, m.index) : null) : undefined;
  },
  // A program cut at the limit or ended without its fence is graded as written (a truncated one fails its tests).
  cut: (after) => after.trim() ? after : null,
  templateSuffix: "-code",
  voteKey: programKey,
};

/**
 * A program's vote key: its text, CRLF read as a line end, whitespace at a line's end and blank lines at its end
 * dropped (what an editor or a transcript may change without changing the program). Indentation and every other
 * space are the program's: `    print(0)` inside a loop and `print(0)` after it are two programs, and so are
 * `n = …` and `m = …` (the maths normalisation strips every space and a line's assignment target).
 */
function programKey(program: string): string {
  return program.replace(/\r\n?/g, "\n").split("\n").map((l) => l.trimEnd()).join("\n").replace(/\n+$/, "");
}

/** The answer format of a problem graded as `grading`. */
export const answerFormat = (grading: Grading): AnswerFormat => grading === "code" ? CODE : BOXED;

/**
 * The group an answer votes with, by its problem's grading: the one rule of every method's vote or majority over
 * its paths (the run's, and rescore's recount) and of maj@k (and so of `accuracy_vote` and `compare --score vote`,
 * which read the votes). A program (grading "code") is its text, its line ends alone normalised (programKey); a
 * maths answer is the grader's text normalisation (mathsVoteKey: `x = 4` and `4` are one answer).
 */
export const voteKey = (answer: string, grading: Grading): string => answerFormat(grading).voteKey(answer);
