/** One finding of `validate`, tied to the `tables:` entry (its line) that caused it. */
export interface Issue {
  /** The table, or the selector's pattern when the issue is about the entry itself. */
  table: string
  /** 1-based line of the selector in the pipeline file. */
  line: number
  /** The column concerned, when there is one. */
  column?: string
  /** A full sentence naming the table (and column); the caller prefixes `file:line:`. */
  message: string
  /** How to fix it, when we know. */
  hint?: string
}
