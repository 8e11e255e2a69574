/** Edit distance (insert, delete, substitute: cost 1 each) between two strings. */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost)
    }
    prev = row
  }
  return prev[b.length] as number
}

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo:
 * at most a third of the word's length in edits (at least 1), so `cursr` finds `cursor` but `foo` finds nothing.
 */
export function closeMatch(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3))
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const distance = levenshtein(word.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= limit ? best : undefined
}

/** `did you mean "x"?` when a close match exists, else the list of what is allowed. */
export function suggestionHint(word: string, candidates: readonly string[]): string {
  const match = closeMatch(word, candidates)
  if (match !== undefined) return `did you mean "${match}"?`
  return `allowed: ${candidates.join(', ')}`
}
