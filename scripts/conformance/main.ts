/**
 * `npm run conformance`: builds the conformance matrix from conformance/*.yaml and the
 * statement tags in src/ and test/, writes docs/conformance.md and the README's summary rows,
 * and prints every problem (exit code 1 when there is one).
 *
 * `npm run conformance -- --check` writes nothing and also fails when either file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMatrix, type Matrix } from './matrix.js';
import { renderMatrix, renderReadme } from './render.js';
import { scanRepository } from './scan-files.js';
import { loadAllStatements } from './statements.js';

/** Where the matrix is written, relative to the repository root. */
export const MATRIX_FILE = 'docs/conformance.md';
export const README_FILE = 'README.md';

/** The repository root (two levels above this file). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What a run produces: the matrix, and the files as they should read. */
export interface Generated {
  matrix: Matrix;
  files: Map<string, string>;
}

/** Builds everything in memory. */
export function generate(root: string): Generated {
  const matrix = buildMatrix(loadAllStatements(root), scanRepository(root));
  const readme = readFileSync(join(root, README_FILE), 'utf8');
  const files = new Map([
    [MATRIX_FILE, renderMatrix(matrix)],
    [README_FILE, renderReadme(readme, matrix)],
  ]);
  return { matrix, files };
}

/** The generated files whose copy on disk differs. */
export function staleFiles(root: string, generated: Generated): string[] {
  const stale: string[] = [];
  for (const [file, content] of generated.files) {
    let onDisk = '';
    try {
      onDisk = readFileSync(join(root, file), 'utf8');
    } catch {
      // missing counts as stale
    }
    if (onDisk !== content) stale.push(file);
  }
  return stale;
}

function main(): void {
  const check = process.argv.includes('--check');
  const generated = generate(REPO_ROOT);
  const problems = [...generated.matrix.problems];
  if (check) {
    for (const file of staleFiles(REPO_ROOT, generated)) {
      problems.push(`${file} is stale: run npm run conformance`);
    }
  } else {
    for (const [file, content] of generated.files) writeFileSync(join(REPO_ROOT, file), content);
  }
  for (const vm of generated.matrix.versions) {
    const c = vm.counts;
    console.log(
      `${vm.list.title}: ${c.statements} statements, ${c.tested} tested, ${c.deviations} deviations, ${c.untested} untested, ${c.notApplicable} not applicable, ${c.clientOnly} client-only`,
    );
  }
  for (const p of problems) console.error(`conformance: ${p}`);
  if (problems.length > 0) {
    console.error(`conformance: ${problems.length} problem(s)`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
