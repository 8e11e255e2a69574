/** `1 row`, `2 rows`, `0 tables`: the count and the noun, plural unless the count is exactly 1. */
export function plural(n: number, noun: string, many = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : many}`
}
