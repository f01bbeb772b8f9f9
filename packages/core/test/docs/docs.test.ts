import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

// Every ```ts block in the READMEs and docs/ must be an excerpt of a TypeScript file that the
// build compiles (examples and tests), so documentation cannot drift from code that runs.
const root = resolve(__dirname, '../../../../..');
const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n');
const markdown = tracked.filter((f) => /(^|\/)README\.md$/.test(f) || /^docs\/.*\.md$/.test(f)).filter((f) => !f.includes('node_modules'));
const sources = tracked.filter((f) => /^(examples\/.*|packages\/[^/]+\/(examples|test|bench)\/.*|tests\/.*)\.ts$/.test(f));

const normalise = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
const corpus = sources.map((f) => ({ file: f, lines: normalise(readFileSync(resolve(root, f), 'utf8')) }));

function blocks(text: string): string[] {
  return [...text.matchAll(/```(?:ts|typescript)\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function contains(haystack: readonly string[], needle: readonly string[]): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe('Documentation', () => {
  it('has READMEs and docs to check', () => {
    expect(markdown).to.include('README.md');
    expect(markdown.filter((f) => f.startsWith('docs/')).length).to.be.above(3);
  });

  for (const file of markdown) {
    const code = blocks(readFileSync(resolve(root, file), 'utf8'));
    if (code.length === 0) continue;
    it(`${file}: every TypeScript block is taken from compiled, tested code`, () => {
      for (const block of code) {
        // `// ...` stands for omitted lines: each part must be found on its own
        const parts = block.split(/^\s*\/\/ \.\.\.\s*$/m).map(normalise).filter((p) => p.length > 0);
        for (const part of parts) {
          const found = corpus.find((c) => contains(c.lines, part));
          expect(found, `${file}: this block is not in any compiled example or test:\n${part.join('\n')}`).to.not.equal(undefined);
        }
      }
    });
  }

  for (const file of markdown) {
    it(`${file}: every relative link points at a file that exists`, () => {
      const text = readFileSync(resolve(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
      const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^(https?:|mailto:|#)/.test(l));
      const broken = links.filter((l) => !existsSync(resolve(root, dirname(file), l.split('#')[0]!)));
      expect(broken, `${file} links to missing files`).to.deep.equal([]);
    });
  }

  it('README quick start names the demo and the test commands that exist', () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const scripts = (JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(readme).to.contain('npm start').and.contain('npm test');
    expect(scripts).to.have.property('start');
    expect(scripts).to.have.property('test');
  });
});
