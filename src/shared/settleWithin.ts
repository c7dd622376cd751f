/**
 * Waits for `work` but no longer than `ms`; says whether it settled in time.
 * Shutdown uses it because closing a Redis client that is between reconnect
 * attempts never emits 'end', and a stop must not hang on that.
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
