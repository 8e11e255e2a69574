/**
 * `work`, or what `expire()` returns (or throws) once `ms` have passed, whichever comes first. The timer is
 * cleared either way, so a finished process is never held open by it (a pending timer keeps Node alive).
 * `work` is not cancelled: `expire` does what abandoning it needs (destroy a connection, abort a request).
 * A rejection of `work` after the deadline is handled here (Promise.race listens to it), never unhandled.
 */
export async function withDeadline<T, U = never>(
  work: Promise<T>,
  ms: number,
  expire: () => U,
): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(expire())
      } catch (err) {
        reject(err)
      }
    }, ms)
  })
  try {
    return await Promise.race([work, expired])
  } finally {
    clearTimeout(timer)
  }
}
