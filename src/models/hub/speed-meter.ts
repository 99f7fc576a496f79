/**
 * Download speed over a sliding window: an average since the start would hide a stall or a burst,
 * and the last chunk alone would make the ETA jump at every update.
 */

export interface SpeedMeter {
  /** Records the cumulative bytes transferred at time `now` (ms). */
  sample(transferred: number, now: number): void;
  /** Bytes per second over the window ending at the last sample; 0 until there is enough to say. */
  bytesPerSecond(): number;
}

export function createSpeedMeter(windowMs = 5000): SpeedMeter {
  const samples: Array<{ t: number; bytes: number }> = [];
  return {
    sample(transferred, now) {
      const last = samples[samples.length - 1];
      if (last && last.t === now) last.bytes = transferred;
      else samples.push({ t: now, bytes: transferred });
      // Keep one sample older than the window so the window is always fully covered.
      while (samples.length > 2 && samples[1].t <= now - windowMs) samples.shift();
    },
    bytesPerSecond() {
      if (samples.length < 2) return 0;
      const first = samples[0];
      const last = samples[samples.length - 1];
      const seconds = (last.t - first.t) / 1000;
      // Under a quarter second the figure is mostly noise.
      return seconds < 0.25 ? 0 : Math.round((last.bytes - first.bytes) / seconds);
    },
  };
}
