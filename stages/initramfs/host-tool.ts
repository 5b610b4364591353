// A ToolRunner for use outside the engine (tests, benchmarks): the shared host runner.
import { hostRunner } from '../host-runner.js';
import type { ToolRunner } from './build.js';

const host = hostRunner();

export const runHostTool: ToolRunner = (tool, args, options = {}) => host.exec(tool, args, options);
