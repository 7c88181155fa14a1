import { pushTouchesProject } from '../../../src/meltano/meltano-project.js';

describe('pushTouchesProject', () => {
  it('treats every change as relevant for a project at the repository root', () => {
    expect(pushTouchesProject(['README.md'], '.', [])).toBe(true);
    expect(pushTouchesProject(['docs/x.md'], './', [])).toBe(true);
    expect(pushTouchesProject(['docs/x.md'], '', [])).toBe(true);
  });

  it('detects changes inside the root path', () => {
    const includes = ['./extract/*.yml'];
    expect(pushTouchesProject(['meltano/meltano.yml'], 'meltano', includes)).toBe(true);
    expect(pushTouchesProject(['meltano/extract/tap.yml'], 'meltano/', includes)).toBe(true);
    expect(pushTouchesProject(['meltano/transform/models/a.sql'], './meltano', includes)).toBe(
      true,
    );
    expect(pushTouchesProject(['apps/meltano/meltano.yml'], '/apps/meltano', [])).toBe(true);
  });

  it('ignores changes outside the root path, including look-alike prefixes', () => {
    expect(pushTouchesProject(['README.md', 'web/index.ts'], 'meltano', [])).toBe(false);
    expect(pushTouchesProject(['meltano-old/meltano.yml'], 'meltano', [])).toBe(false);
    expect(pushTouchesProject(['meltano'], 'meltano/extract', [])).toBe(false);
    expect(pushTouchesProject([], 'meltano', [])).toBe(false);
  });

  it('follows include patterns that reach outside the root with ../', () => {
    const includes = ['../shared/*.meltano.yml', '../config/**/*.yml'];
    expect(pushTouchesProject(['shared/common.meltano.yml'], 'meltano', includes)).toBe(true);
    expect(pushTouchesProject(['shared/readme.md'], 'meltano', includes)).toBe(false);
    expect(pushTouchesProject(['config/a/b/c.yml'], 'meltano', includes)).toBe(true);
    expect(pushTouchesProject(['config/top.yml'], 'meltano', includes)).toBe(true);
    expect(pushTouchesProject(['other/x.yml'], 'meltano', includes)).toBe(false);
    expect(
      pushTouchesProject(['projects/common/jobs.yml'], 'projects/a', ['../common/jobs.yml']),
    ).toBe(true);
    // Patterns leaving the repository can never be touched by a push.
    expect(pushTouchesProject(['x.yml'], 'meltano', ['../../x.yml'])).toBe(false);
  });

  it('rejects a root path outside the repository', () => {
    expect(() => pushTouchesProject(['a'], '../elsewhere', [])).toThrow('outside the repository');
  });
});
