// A copy of the demo variant in a fresh directory, built from the fixture mirror served over HTTP
// on 127.0.0.1: what a user with their own checkout of variants would have.
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDemoMirror } from '../fixtures/build-mirror.js';
import { StaticHttpServer } from '../fixtures/http-server.js';
import { projectRoot } from '../fixtures/paths.js';

const FILES = ['variants/demo.yaml', 'variants/keys/demo', 'variants/keys/demo-secureboot', 'variants/overlays/demo', 'test/fixtures/keys/secureboot'];

export async function demoProject(prefix = 'pipeline-demo-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  for (const f of FILES) await cp(join(projectRoot(), f), join(dir, f), { recursive: true });
  return dir;
}

export interface DemoMirrorServer {
  server: StaticHttpServer;
  /** `--mirror demo=<url>` for this server. */
  flag: string;
}

export async function serveDemoMirror(): Promise<DemoMirrorServer> {
  const mirror = await ensureDemoMirror();
  const server = await StaticHttpServer.start(mirror.root);
  return { server, flag: `demo=${server.url}` };
}
