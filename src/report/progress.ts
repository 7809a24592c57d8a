/**
 * A progress line on stderr with the time left, redrawn in place on a
 * terminal; on a pipe, one line per phase so logs stay readable.
 */
export class ProgressBar {
  private lastPhase = '';
  private readonly started = Date.now();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly totalS: number,
  ) {}

  update(phase: string, fraction?: number): void {
    if (!this.stream.isTTY) {
      if (phase !== this.lastPhase) this.stream.write(`memwhy: ${phase}...\n`);
      this.lastPhase = phase;
      return;
    }
    this.lastPhase = phase;
    const width = 30;
    const f = fraction === undefined ? undefined : Math.max(0, Math.min(1, fraction));
    const bar = f === undefined ? '' : `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] `;
    const left = f === undefined ? '' : ` ${Math.max(0, Math.ceil(this.totalS * (1 - f)))} s left`;
    this.stream.write(`\r\x1b[2Kmemwhy: ${bar}${phase}${left}`);
  }

  done(): void {
    if (this.stream.isTTY) this.stream.write(`\r\x1b[2Kmemwhy: done in ${((Date.now() - this.started) / 1000).toFixed(1)} s\n`);
  }
}
