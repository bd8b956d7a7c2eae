/**
 * Progress for long work, on stderr and only when stderr is a terminal, so that scripts and
 * pipes see nothing but the results. One line, redrawn at most ten times a second, cleared
 * when the work is done.
 */

/** Where progress goes: a writable stream that may be a terminal. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

const redrawIntervalMs = 100;

/** A progress line for one piece of work. */
export class Progress {
  private readonly enabled: boolean;
  private lastDrawMs = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly stream: ProgressStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true;
  }

  /** Reports `done` of `total` units (bytes, nodes, transactions), with a detail such as a file name. */
  update(done: number, total: number | undefined, detail = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDrawMs < redrawIntervalMs && (total === undefined || done < total)) return;
    this.lastDrawMs = now;
    const share = total !== undefined && total > 0 ? ` ${Math.floor((done / total) * 100)}%` : '';
    const counts = total === undefined ? `${done}` : `${done}/${total}`;
    this.stream.write(`\r\x1b[K${this.label}: ${counts}${share}${detail === '' ? '' : ` ${detail}`}`);
    this.drawn = true;
  }

  /** Clears the line. */
  finish(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
