import { describe, expect, it } from 'vitest';
import {
  DependencyFormatError,
  formatDependency,
  parseDependency,
  parseDependencyList,
  virtualKind,
} from '../../stages/sources/apk/depend.js';
import { DEPMASK_ANY, DEPMASK_CHECKSUM, operatorMask } from '../../stages/sources/apk/version.js';

describe('parseDependency', () => {
  it('parses a plain name', () => {
    expect(parseDependency('busybox')).toEqual({ name: 'busybox', conflict: false, mask: DEPMASK_ANY, broken: false });
  });

  it.each([
    ['openssh-keygen=9.0_p1-r2', 'openssh-keygen', '=', '9.0_p1-r2'],
    ['mkinitfs>=3.6.0', 'mkinitfs', '>=', '3.6.0'],
    ['busybox<1.36', 'busybox', '<', '1.36'],
    ['busybox>1.28.2-r1', 'busybox', '>', '1.28.2-r1'],
    ['musl<=1.2.3', 'musl', '<=', '1.2.3'],
    ['python3~3.10', 'python3', '~', '3.10'],
    ['linux-lts>~5.15', 'linux-lts', '>~', '5.15'],
    ['linux-lts<~5.15', 'linux-lts', '<~', '5.15'],
  ])('%s', (text, name, op, version) => {
    const dep = parseDependency(text);
    expect(dep).toMatchObject({ name, conflict: false, mask: operatorMask(op), version, broken: false });
    expect(formatDependency(dep)).toBe(text);
  });

  it('parses virtual names with and without version (provides)', () => {
    expect(parseDependency('so:libc.musl-x86_64.so.1=1')).toMatchObject({ name: 'so:libc.musl-x86_64.so.1', version: '1', mask: operatorMask('=') });
    expect(parseDependency('cmd:sh')).toMatchObject({ name: 'cmd:sh', mask: DEPMASK_ANY });
    expect(parseDependency('cmd:sh').version).toBeUndefined();
    expect(parseDependency('pc:zlib=1.2.12')).toMatchObject({ name: 'pc:zlib', version: '1.2.12' });
    expect(parseDependency('/bin/sh')).toMatchObject({ name: '/bin/sh', mask: DEPMASK_ANY });
    expect(virtualKind('so:libz.so.1')).toBe('so');
    expect(virtualKind('cmd:sh')).toBe('cmd');
    expect(virtualKind('pc:zlib')).toBe('pc');
    expect(virtualKind('/bin/sh')).toBe('path');
    expect(virtualKind('busybox')).toBeUndefined();
  });

  it('parses conflicts', () => {
    expect(parseDependency('!openssh-client-krb5')).toMatchObject({ name: 'openssh-client-krb5', conflict: true, mask: DEPMASK_ANY });
    const versioned = parseDependency('!foo<2');
    expect(versioned).toMatchObject({ name: 'foo', conflict: true, version: '2', mask: operatorMask('<') });
    expect(formatDependency(versioned)).toBe('!foo<2');
  });

  it('accepts a repository tag only where asked (requests), never in an index', () => {
    expect(parseDependency('busybox@edge>=1.36', { allowTag: true })).toMatchObject({ name: 'busybox', tag: 'edge', version: '1.36' });
    expect(formatDependency(parseDependency('busybox@edge>=1.36', { allowTag: true }))).toBe('busybox@edge>=1.36');
    expect(() => parseDependency('busybox@edge')).toThrow(DependencyFormatError);
    expect(() => parseDependency('busybox@', { allowTag: true })).toThrow(/empty repository tag/);
  });

  it('keeps a checksum dependency (><) unvalidated and marks bad versions broken', () => {
    const sum = parseDependency('busybox><Q1ZX+on7zBgcokTctj4tLSmx7q5O4=');
    expect(sum.mask).toBe(DEPMASK_CHECKSUM);
    expect(sum.broken).toBe(false);
    expect(parseDependency('foo>=1.0bc').broken).toBe(true);
    expect(parseDependency('foo=').broken).toBe(true);
  });

  it('rejects a missing name', () => {
    expect(() => parseDependency('>=1.0')).toThrow(/missing package name/);
    expect(() => parseDependency('!')).toThrow(DependencyFormatError);
  });
});

describe('parseDependencyList', () => {
  it('splits on spaces and newlines', () => {
    const deps = parseDependencyList('openssh-keygen=9.0_p1-r2 !openssh-client-krb5  so:libz.so.1\nzlib');
    expect(deps.map(formatDependency)).toEqual(['openssh-keygen=9.0_p1-r2', '!openssh-client-krb5', 'so:libz.so.1', 'zlib']);
  });
  it('is empty for an empty value', () => {
    expect(parseDependencyList('')).toEqual([]);
  });
});
