import { StringDecoder } from 'node:string_decoder';

/** Longest line passed on whole; longer output without a newline is cut so memory stays bounded. */
const MAX_LINE_LENGTH = 64 * 1024;

/**
 * Turns a byte stream into lines: chunks end anywhere (even inside a UTF-8
 * character), so the remainder waits for the next chunk and `end()` flushes
 * a last line that has no newline.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private ended = false;

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLineLength = MAX_LINE_LENGTH,
  ) {}

  push(chunk: Buffer | string): void {
    if (this.ended) return;
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (let newline = this.buffer.indexOf('\n'); newline !== -1;) {
      this.emitLine(this.buffer.slice(start, newline));
      start = newline + 1;
      newline = this.buffer.indexOf('\n', start);
    }
    this.buffer = this.buffer.slice(start);
    while (this.buffer.length >= this.maxLineLength) {
      this.emit(this.buffer.slice(0, this.maxLineLength));
      this.buffer = this.buffer.slice(this.maxLineLength);
    }
  }

  /** Flushes the last, unterminated line. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.buffer += this.decoder.end();
    if (this.buffer.length > 0) this.emitLine(this.buffer);
    this.buffer = '';
  }

  private emitLine(line: string): void {
    // CRLF output (Windows-style tools, some Python loggers) should not leave a stray \r.
    this.emit(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
