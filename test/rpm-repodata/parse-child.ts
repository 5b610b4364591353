// Run in a child Node process by memory.test.ts (bundled with esbuild): parses the primary.xml
// given on the command line and prints what it cost, so RSS and heap limits are the parse's own.
import { readPrimary } from '../../stages/sources/rpm/repodata/primary.js';
import type { ExpectedFile } from '../../stages/sources/rpm/repodata/verified-file.js';

const [path, expectedJson] = process.argv.slice(2);
const expected = JSON.parse(expectedJson) as ExpectedFile;
const rssBefore = process.memoryUsage().rss;
const started = Date.now();
const packages = await readPrimary(path, expected, path);
const ms = Date.now() - started;
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const heapWith = process.memoryUsage().heapUsed;
const count = packages.length;
packages.length = 0;
gc?.();
process.stdout.write(
  `${JSON.stringify({ count, ms, peakRssGrowth: process.resourceUsage().maxRSS * 1024 - rssBefore, keptHeap: heapWith - process.memoryUsage().heapUsed })}\n`,
);
