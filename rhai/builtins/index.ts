// Loads every standard function module into the table.
import './strings.js';
import './arrays.js';
import './maps.js';
import './numbers.js';

export { BUILTINS, NO_MATCH, type Builtin, type BuiltinContext } from './registry.js';
export { arrayGet, arraySet } from './arrays.js';
export { charAt, setCharAt } from './strings.js';
