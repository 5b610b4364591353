// The remote cache's command-line options (definitions only: --help loads this module).
import type { OptionDef } from './command.js';

export const remoteCacheOptions: OptionDef[] = [
  {
    name: 'remote-cache',
    type: 'string',
    value: 'URL',
    description: "share the cache through a server speaking Bazel's HTTP cache protocol (default: $PIPELINE_REMOTE_CACHE, else remote_cache.url in pipeline.config.yaml)",
  },
  { name: 'remote-cache-read-only', type: 'boolean', description: 'take verified entries from the remote cache, never write to it' },
  { name: 'remote-cache-required', type: 'boolean', description: 'fail the build when the remote cache fails, instead of warning and building locally' },
  { name: 'no-remote-cache', type: 'boolean', description: 'use no remote cache, whatever the config file or environment say' },
];
