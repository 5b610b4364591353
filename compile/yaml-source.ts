// A YAML file read with positions kept, so every error can say file:line:col.
import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from '../graph/errors.js';

export type PathPart = string | number;

export class YamlSource {
  private constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** Parses a YAML file; a syntax error is a ConfigError with its position. */
  static async read(file: string, displayName = file): Promise<YamlSource> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read ${displayName}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    return YamlSource.parse(text, displayName);
  }

  static parse(text: string, displayName: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const error = doc.errors[0];
    if (error) {
      const pos = lines.linePos(error.pos[0]);
      throw new ConfigError(`${displayName}:${pos.line}:${pos.col}: YAML syntax error: ${error.message.split('\n')[0]}`);
    }
    return new YamlSource(displayName, doc, lines);
  }

  /** The plain JavaScript value of the document. */
  value(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /** `file:line:col` of the value at `path` (or of its key, with `key: true`), as near as exists. */
  where(path: PathPart[], options: { key?: boolean } = {}): string {
    let node: unknown = this.doc.contents;
    let position: number | undefined = rangeStart(node);
    for (let i = 0; i < path.length; i++) {
      const part = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part));
        if (!pair) break;
        const last = i === path.length - 1;
        position = (last && options.key ? rangeStart(pair.key) : rangeStart(pair.value) ?? rangeStart(pair.key)) ?? position;
        node = pair.value;
      } else if (isSeq(node) && typeof part === 'number') {
        node = node.items[part];
        position = rangeStart(node) ?? position;
      } else break;
    }
    if (position === undefined) return this.file;
    const pos = this.lines.linePos(position);
    return `${this.file}:${pos.line}:${pos.col}`;
  }
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}
