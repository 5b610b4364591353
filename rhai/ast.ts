// Syntax tree of a Rhai program. Every node has the 1-based line/col that errors point at
// (for operators, the operator; for calls, the function name).
import type { RhaiValue } from './values.js';

interface At {
  line: number;
  col: number;
}

export interface Block extends At {
  k: 'block';
  stmts: Node[];
  /** The last statement is an expression without `;`: its value is the block's value. */
  valueLast: boolean;
}

export interface SwitchArm {
  /** null for the default arm `_`. */
  patterns: Node[] | null;
  guard?: Node;
  body: Node;
}

export type Node =
  | Block
  | (At & { k: 'lit'; value: RhaiValue })
  | (At & { k: 'var'; name: string })
  | (At & { k: 'this' })
  | (At & { k: 'tmpl'; parts: (string | Node)[] })
  | (At & { k: 'array'; items: Node[] })
  | (At & { k: 'map'; entries: [string, Node][] })
  | (At & { k: 'unary'; op: string; x: Node })
  | (At & { k: 'bin'; op: string; a: Node; b: Node })
  | (At & { k: 'range'; a: Node; b: Node; inclusive: boolean })
  | (At & { k: 'assign'; op: string; target: Node; value: Node })
  | (At & { k: 'index'; target: Node; index: Node; safe: boolean })
  | (At & { k: 'prop'; target: Node; name: string; safe: boolean })
  | (At & { k: 'call'; name: string; args: Node[] })
  | (At & { k: 'method'; target: Node; name: string; args: Node[]; safe: boolean })
  | (At & { k: 'closure'; params: string[]; body: Node; free?: string[] })
  | (At & { k: 'if'; cond: Node; then: Block; else?: Node })
  | (At & { k: 'switch'; subject: Node; arms: SwitchArm[] })
  | (At & { k: 'while'; cond: Node; body: Block })
  | (At & { k: 'loop'; body: Block })
  | (At & { k: 'do'; body: Block; cond: Node; until: boolean })
  | (At & { k: 'for'; name: string; index?: string; iter: Node; body: Block })
  | (At & { k: 'break'; value?: Node })
  | (At & { k: 'continue' })
  | (At & { k: 'return'; value?: Node })
  | (At & { k: 'throw'; value?: Node })
  | (At & { k: 'try'; body: Block; catchVar?: string; handler: Block })
  | (At & { k: 'let'; name: string; value?: Node; isConst: boolean });

export type NodeOf<K extends Node['k']> = Extract<Node, { k: K }>;

export interface FnDef {
  name: string;
  params: string[];
  private: boolean;
  body: Block;
  file: string;
  line: number;
  col: number;
  /** The `///` lines above the definition, text after `///` trimmed. */
  doc: string[];
}

export interface RhaiProgram {
  file: string;
  statements: Node[];
  /** Whether the last top-level statement is an expression whose value the run returns. */
  valueLast: boolean;
  functions: FnDef[];
  /** The `//!` lines, text after `//!` trimmed (recipes put `//! extends: base.rhai` here). */
  moduleDoc: string[];
}
