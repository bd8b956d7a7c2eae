/**
 * `work`'s outcome, or a TimeoutError (a DOMException, as AbortSignal.timeout gives) saying
 * `message` once `ms` pass first. The timer is cleared as soon as `work` settles, so a call
 * that finished leaves nothing to keep the process alive. `work` itself is not stopped.
 */
export function timeBound<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DOMException(message, 'TimeoutError')), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
