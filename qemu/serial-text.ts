// Turns raw serial bytes into plain text that patterns can match: UTF-8 decoded across chunk
// boundaries, ANSI/VT100 escape sequences removed (firmware and shells emit them: `ESC c`,
// `ESC [2J`, busybox ash's `ESC [6n` cursor query), CR and NUL dropped.
import { StringDecoder } from 'node:string_decoder';

const ESC = '\u001b';

// CSI: ESC [ params intermediates final. OSC/DCS/APC/PM: ESC ] ... (BEL | ESC \).
// Two-byte: ESC followed by one char (ESC c, ESC 7, ESC =); charset: ESC ( B.
const COMPLETE_ESCAPE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_][^\u0007\u001b]*(?:\u0007|\u001b\\)|[()*+][ -~]|(?![[\]PX^_])[ -/]*[0-~])/gy;
const DROPPED_CHARS = /[\r\u0000\u0007]/g;

export class SerialTextNormalizer {
  private readonly decoder = new StringDecoder('utf8');
  /** An escape sequence cut by the end of the previous chunk. */
  private pending = '';

  /** Feeds raw bytes; returns the text they complete (may be empty). */
  push(chunk: Buffer | string): string {
    const decoded = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    return this.strip(this.pending + decoded);
  }

  /** Flushes whatever is held back at end of stream. */
  end(): string {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    return rest.replaceAll(ESC, '').replace(DROPPED_CHARS, '');
  }

  private strip(text: string): string {
    let result = '';
    let index = 0;
    this.pending = '';
    while (index < text.length) {
      const escapeAt = text.indexOf(ESC, index);
      if (escapeAt < 0) {
        result += text.slice(index);
        break;
      }
      result += text.slice(index, escapeAt);
      COMPLETE_ESCAPE.lastIndex = escapeAt;
      const match = COMPLETE_ESCAPE.exec(text);
      if (match) {
        index = escapeAt + match[0].length;
        continue;
      }
      if (text.length - escapeAt < 64 && !text.slice(escapeAt).includes('\n')) {
        // Possibly the start of a sequence whose end is in the next chunk: hold it back.
        this.pending = text.slice(escapeAt);
        break;
      }
      index = escapeAt + 1; // A lone or malformed ESC: drop the byte, keep the text.
    }
    return result.replace(DROPPED_CHARS, '');
  }
}

/** Normalizes a complete string in one go (logs, tests). */
export function normalizeSerialText(raw: string | Buffer): string {
  const normalizer = new SerialTextNormalizer();
  return normalizer.push(raw) + normalizer.end();
}
