/**
 * ZooKeeper's JVM pause monitor, for a Node process: a timer asks to sleep a fixed time and
 * measures how much longer the sleep took. The excess is time the process did not run its
 * event loop: a garbage collection, work that blocked the loop, a stalled host. Each figure
 * goes to jvm_pause_time_ms; a long one is logged, as ZooKeeper logs it.
 *
 * @module
 */
import type { Logger } from '../log.js';
import type { PauseMonitorSettings } from './config.js';

/** Measures the process's pauses until {@link PauseMonitor.stop}. */
export class PauseMonitor {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private infoPauses = 0;
  private warnPauses = 0;

  constructor(
    private readonly settings: PauseMonitorSettings,
    private readonly log: Logger,
    private readonly paused: (extraMs: number) => void,
  ) {}

  start(): void {
    const { sleepTimeMs, infoThresholdMs, warnThresholdMs } = this.settings;
    this.log.info({ sleepTimeMs, infoThresholdMs, warnThresholdMs }, 'pause monitor started');
    this.sleep();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private sleep(): void {
    // The monotonic clock: a wall clock set back or forth is no pause.
    const startedMs = performance.now();
    this.timer = setTimeout(() => {
      const extraMs = Math.round(performance.now() - startedMs - this.settings.sleepTimeMs);
      if (extraMs >= 0) this.paused(extraMs);
      this.report(extraMs);
      this.sleep();
    }, this.settings.sleepTimeMs);
    // It measures the process; it does not keep it alive.
    this.timer.unref();
  }

  private report(extraMs: number): void {
    const { infoThresholdMs, warnThresholdMs } = this.settings;
    if (extraMs > warnThresholdMs) this.warnPauses++;
    else if (extraMs > infoThresholdMs) this.infoPauses++;
    else return;
    const fields = { pauseMs: extraMs, infoPauses: this.infoPauses, warnPauses: this.warnPauses };
    const message = `the process or its host paused for about ${extraMs} ms (a garbage collection, work blocking the event loop, a stalled host)`;
    if (extraMs > warnThresholdMs) this.log.warn(fields, message);
    else this.log.info(fields, message);
  }
}
