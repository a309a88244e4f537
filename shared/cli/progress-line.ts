// One progress line redrawn in place on a terminal, at most every 100 ms
// (a final state is always drawn), and cleared before the result is printed.

const REDRAW_MS = 100;
const WIDTH = 24;

export class ProgressLine {
  private last = 0;
  constructor(private readonly stream: NodeJS.WritableStream) {}

  /** `[####....] text` for done/total; skipped when the last redraw is too recent, unless `final`. */
  draw(done: number, total: number, text: string, final = done >= total): void {
    const now = performance.now();
    if (now - this.last < REDRAW_MS && !final) return;
    this.last = now;
    const filled = total > 0 ? Math.round((Math.min(done, total) / total) * WIDTH) : WIDTH;
    this.stream.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${text}`);
  }

  clear(): void {
    if (this.last) this.stream.write('\r\x1b[2K');
  }
}
