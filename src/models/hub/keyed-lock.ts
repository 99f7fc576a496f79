/**
 * Mutual exclusion per key (a destination path). Two jobs that resolve to the same file must not
 * write the same `.part` at once; the second waits, then finds the file already downloaded.
 */

export interface KeyedLock {
  /** Waits for all keys (taken in sorted order, so two callers never deadlock); returns the release. */
  acquire(keys: string[], signal: AbortSignal): Promise<() => void>;
}

export function createKeyedLock(): KeyedLock {
  const tails = new Map<string, Promise<void>>();

  async function acquireOne(key: string, signal: AbortSignal): Promise<() => void> {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    // Whoever comes next waits for us, even if we give up waiting: our release comes after previous's.
    const tail = previous.then(() => mine);
    tails.set(key, tail);
    // Forget the key once everyone queued on it so far is done, so the map does not grow forever.
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    try {
      await abortable(previous, signal);
    } catch (err) {
      // Let followers through once `previous` is done, as if we had come and gone.
      release();
      throw err;
    }
    return release;
  }

  return {
    async acquire(keys, signal) {
      const releases: Array<() => void> = [];
      try {
        for (const key of [...new Set(keys)].sort()) releases.push(await acquireOne(key, signal));
      } catch (err) {
        for (const r of releases.reverse()) r();
        throw err;
      }
      return () => {
        for (const r of releases.reverse()) r();
      };
    },
  };
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
