/** What a task hands to the harness: problems with their gold answers and how they are graded. */

export interface Problem {
  /** stable within its task (the data set's own id where it has one) */
  id: string;
  task: string;
  /** the problem statement, as the model reads it */
  text: string;
  /** accepted answers; "list" grading: the answers in order, one per part */
  golds: string[];
  /** "single": the boxed answer equals a gold; "list": comma-separated answers scored as the fraction right */
  grading: "single" | "list";
}
