/**
 * The built dashboard's files (dist/dashboard), read once into memory with their gzip form:
 * the whole page is a few hundred kilobytes, and serving from memory means no file-system
 * path is ever built from a request (no directory traversal to guard against).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/** One file of the dashboard, ready to send. */
export interface StaticFile {
  /** Its URL path, e.g. `/assets/index-3f2a1b.js`. */
  path: string;
  contentType: string;
  body: Buffer;
  /** The gzip form, when it is smaller (text files). */
  gzip: Buffer | undefined;
  /** A quoted strong validator of the content. */
  etag: string;
  /** True for files whose name carries a hash of their content (cached for a year). */
  immutable: boolean;
}

/** Content types by extension; anything else is sent as bytes. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Vite names built assets `name-<hash>.ext`: 8 URL-safe characters. */
const HASHED = /^\/assets\/.+-[A-Za-z0-9_-]{8}\.[a-z]+$/;

/** Every file under `dir`, depth first. */
function walk(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...walk(path));
    else files.push(path);
  }
  return files;
}

function loadFile(dir: string, file: string): StaticFile {
  const path = `/${relative(dir, file).split(sep).join('/')}`;
  const body = readFileSync(file);
  const contentType = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
  const compressible = contentType.startsWith('text/') || /json|svg|xml/.test(contentType);
  const gzip = compressible ? gzipSync(body, { level: 9 }) : undefined;
  const etag = `"${body.length.toString(36)}-${hashOf(body)}"`;
  return {
    path,
    contentType,
    body,
    gzip: gzip !== undefined && gzip.length < body.length ? gzip : undefined,
    etag,
    immutable: HASHED.test(path),
  };
}

/** A short FNV-1a hash of the bytes (an ETag, not a security check). */
function hashOf(bytes: Buffer): string {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(36);
}

/**
 * The files of the built dashboard in `dir` by URL path, or undefined when it is not built
 * (no `index.html`).
 */
export function loadStaticFiles(dir: string): Map<string, StaticFile> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, StaticFile>();
  for (const file of walk(dir)) {
    const loaded = loadFile(dir, file);
    files.set(loaded.path, loaded);
  }
  return files;
}
