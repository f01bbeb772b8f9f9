import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ts from 'typescript';

// Runs from dist/test/types; the fixtures stay as sources next to this test's source, and are
// compiled with this package's settings (the base ones, with `module: node20` for Nest's ESM).
const root = resolve(__dirname, '../../../../..');
const fixtures = resolve(root, 'packages/nestjs/test/types/fixtures');

function compile(file: string, text?: string): readonly ts.Diagnostic[] {
  const config = ts.readConfigFile(join(root, 'packages/nestjs/tsconfig.json'), (p) => ts.sys.readFile(p));
  const { options: base } = ts.parseJsonConfigFileContent(config.config, ts.sys, join(root, 'packages/nestjs'));
  const options = { ...base, noEmit: true, composite: false, declaration: false, declarationMap: false, incremental: false };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError) =>
    text !== undefined && resolve(name) === file ? ts.createSourceFile(name, text, language) : read(name, language, onError);
  return ts.getPreEmitDiagnostics(ts.createProgram([file], options, host));
}

const describeDiagnostics = (diagnostics: readonly ts.Diagnostic[]): string =>
  diagnostics
    .map((d) => `${d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : ''} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
    .join('\n');

describe('@tidings/nestjs types', function () {
  this.timeout(60_000);

  for (const name of readdirSync(fixtures).filter((f) => f.endsWith('.ts'))) {
    const file = join(fixtures, name);
    const lines = readFileSync(file, 'utf8').split('\n');
    const directives = lines.flatMap((l, i) => (l.trim().startsWith('// @ts-expect-error') ? [i] : []));

    it(`${name}: compiles, every @ts-expect-error being used`, () => {
      expect(directives).not.to.be.empty;
      const diagnostics = compile(file);
      expect(diagnostics, describeDiagnostics(diagnostics)).to.have.length(0);
    });

    it(`${name}: without the directives, errs exactly on the lines they mark`, () => {
      const stripped = lines.map((l, i) => (directives.includes(i) ? '' : l)).join('\n');
      const diagnostics = compile(file, stripped).filter((d) => d.file && resolve(d.file.fileName) === file);
      const erring = new Set(diagnostics.map((d) => d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line));
      expect([...erring].sort((a, b) => a - b), describeDiagnostics(diagnostics)).to.deep.equal(directives.map((i) => i + 1));
    });
  }
});
