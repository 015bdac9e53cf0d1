/** What a task hands to the harness: problems with their gold answers and how they are graded. */
import type { CodeSpec } from "./code/problem.ts";

export interface Problem {
  /** stable within its task (the data set's own id where it has one) */
  id: string;
  task: string;
  /** the problem statement, as the model reads it */
  text: string;
  /**
   * accepted answers; "list": the answers in order, one per part; "parts": `NAME = INTEGER`, one per named part;
   * "code": none (the tests decide)
   */
  golds: string[];
  /**
   * "single": the boxed answer equals a gold; "list": comma-separated answers scored as the fraction right;
   * "parts": comma-separated `NAME = INTEGER`, each part's value read by its name (tasks/grading/parts.ts);
   * "code": the answer is a program, run on `code`'s tests in the sandbox
   */
  grading: Grading;
  /** a code problem's tests and how its program is run (grading "code") */
  code?: CodeSpec;
}

export type Grading = "single" | "list" | "parts" | "code";
