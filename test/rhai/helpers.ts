// Run a snippet and give back its final value as plain JS.
import { RhaiEngine, parseRhai, toJs, type JsValue, type RhaiEngineOptions, type RhaiValue } from '../../rhai/index.js';

export function run(src: string, options: RhaiEngineOptions = {}): RhaiValue {
  return new RhaiEngine({ print: () => {}, ...options }).run(parseRhai(src, 'test.rhai'));
}

export function js(src: string, options: RhaiEngineOptions = {}): JsValue {
  return toJs(run(src, options));
}

/** The RhaiError a snippet fails with. */
export function failure(src: string, options: RhaiEngineOptions = {}, file = 'test.rhai'): import('../../rhai/index.js').RhaiError {
  try {
    new RhaiEngine({ print: () => {}, ...options }).run(parseRhai(src, file));
  } catch (e) {
    return e as import('../../rhai/index.js').RhaiError;
  }
  throw new Error('expected the script to fail');
}
