import { describe, expect, it } from 'vitest';
import { normalizeSerialText, SerialTextNormalizer } from '../../qemu/serial-text.js';

describe('serial text normalization', () => {
  it('removes the escape sequences firmware and shells print, CR and NUL', () => {
    // Seen on our consoles: SeaBIOS/OVMF `ESC c ESC[?7l ESC[2J`, busybox ash's `ESC[6n` query.
    const raw = '\u001bc\u001b[?7l\u001b[2J\u001b[0mSeaBIOS (version 1.16.2)\r\n/ # \u001b[6necho hi\r\nhi\r\n\u0000';
    expect(normalizeSerialText(raw)).toBe('SeaBIOS (version 1.16.2)\n/ # echo hi\nhi\n');
  });

  it('removes colours, cursor moves, OSC titles and charset switches', () => {
    const raw = '\u001b[1;31mred\u001b[0m \u001b[10;20Hat \u001b]0;title\u0007osc \u001b(Bcharset \u001b=keypad';
    expect(normalizeSerialText(raw)).toBe('red at osc charset keypad');
  });

  it('joins an escape sequence split across chunks', () => {
    const normalizer = new SerialTextNormalizer();
    expect(normalizer.push('before\u001b')).toBe('before');
    expect(normalizer.push('[3')).toBe('');
    expect(normalizer.push('1mafter')).toBe('after');
    expect(normalizer.end()).toBe('');
  });

  it('decodes UTF-8 split across chunks', () => {
    const bytes = Buffer.from('grün ✓', 'utf8');
    const normalizer = new SerialTextNormalizer();
    const text = normalizer.push(bytes.subarray(0, 3)) + normalizer.push(bytes.subarray(3, 7)) + normalizer.push(bytes.subarray(7)) + normalizer.end();
    expect(text).toBe('grün ✓');
  });

  it('keeps the text around a lone ESC that starts no sequence', () => {
    expect(normalizeSerialText('a\u001b\nb')).toBe('a\nb');
  });
});
