// UUIDs derived from content: the same input, the same UUID (filesystem UUIDs, SBOM namespaces).
import { createHash } from 'node:crypto';

/** RFC 4122 layout with version-4 and variant bits set, from SHA-256 of the content. */
export function uuidFromContent(content: string | Buffer): string {
  const bytes = createHash('sha256').update(content).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
