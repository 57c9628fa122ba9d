// Waiting on a promise that an AbortSignal may cut short.

export const ABORTED = Symbol('aborted');

/** Resolves with `promise`, or ABORTED as soon as the signal fires (the promise itself runs on). */
export function orAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | typeof ABORTED> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
