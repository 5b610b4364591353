// Rhai interpreter for build recipes: parse, check without running, run with host functions.
export { parseRhai } from './parser.js';
export { RhaiEngine, type HostFunction, type RhaiEngineOptions, type RhaiSite } from './evaluator.js';
export { RhaiError, type RhaiErrorKind, type RhaiFrame } from './errors.js';
export { checkRhai, type RhaiProblem, type RhaiKnownNames } from './check.js';
export type { RhaiProgram, FnDef, Node } from './ast.js';
export {
  RhaiChar,
  RhaiFnPtr,
  RhaiRange,
  toJs,
  fromJs,
  display,
  debug,
  typeName,
  type RhaiValue,
  type RhaiMap,
  type JsValue,
} from './values.js';
