// Rhai interpreter for build recipes: parse, check without running, run with host functions.
//
//   const program = parseRhai(source, 'recipes/x.rhai');      // throws RhaiError kind 'syntax'
//   program.moduleDoc                                          // the `//!` lines (`extends: base.rhai`)
//   checkRhai(program, { functions, constants })              // located problems, nothing run
//   const engine = new RhaiEngine({ functions, constants });
//   engine.run(base); engine.run(program);                     // one global scope; later fns win
//   engine.call('build', [engine.getGlobal('ctx')]);
//
// Values: int bigint (i64, overflow is an error), float number, unit undefined, char RhaiChar,
// array JS array, map Map (insertion order), function pointer RhaiFnPtr, range RhaiRange.
// Arrays and maps are passed to script functions and assigned by value (copies). Scripts reach
// the host only through the host functions given; there is no eval, import or file access.
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
