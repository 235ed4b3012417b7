/** The one-line progress display: rewritten in place on a terminal, plain lines otherwise. */

export interface Progress {
  /** What is running now, e.g. `api latency: create 120/200`. */
  update(message: string): void;
  /** A line that stays (a finished step). */
  log(message: string): void;
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  const tty = Boolean(stream.isTTY);
  let lastPlain = 0;
  const stamp = (): string => `[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`;
  return {
    update(message) {
      if (tty) stream.write(`\r\u001b[2K${stamp()} ${message}`);
      else if (Date.now() - lastPlain >= 5000) {
        // Not a terminal (CI): a line every few seconds at most, so logs stay readable.
        lastPlain = Date.now();
        stream.write(`${stamp()} ${message}\n`);
      }
    },
    log(message) {
      stream.write(`${tty ? '\r\u001b[2K' : ''}${stamp()} ${message}\n`);
    },
    done() {
      if (tty) stream.write('\r\u001b[2K');
    },
  };
}
