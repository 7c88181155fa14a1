import {
  parseImageReference,
  pinnedImageReference,
} from '../../../src/deployments/image-reference.js';

describe('container image references (distribution grammar)', () => {
  it('parses registries, ports, paths, tags and digests', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    expect(parseImageReference('meltano/meltano:v3.7-python3.12')).toEqual({
      domain: null,
      path: 'meltano/meltano',
      tag: 'v3.7-python3.12',
      digest: null,
    });
    expect(
      parseImageReference(`registry.example.com:5000/team/proj/meltano:1.2@${digest}`),
    ).toEqual({
      domain: 'registry.example.com:5000',
      path: 'team/proj/meltano',
      tag: '1.2',
      digest,
    });
    expect(parseImageReference('localhost/meltano:dev')).toMatchObject({ domain: 'localhost' });
    expect(parseImageReference(`ubuntu@${digest}`)).toMatchObject({ tag: null, digest });
    expect(parseImageReference('my_org__x/a-b.c:latest')).toMatchObject({
      path: 'my_org__x/a-b.c',
    });
  });

  it('refuses what the grammar refuses', () => {
    for (const bad of [
      'Upper/case:1',
      'a//b:1',
      'a/b:',
      '-a/b:1',
      'a/b:-tag',
      `a/b:${'t'.repeat(129)}`,
      'a/b@sha256:short',
      'https://ghcr.io/a/b:1',
      'a b:1',
      'a/b:1\n',
    ])
      expect(parseImageReference(bad)).toBeNull();
  });

  it('wants plugin images pinned by a tag or a digest', () => {
    expect(pinnedImageReference.safeParse('ghcr.io/acme/meltano:1.0.0').success).toBe(true);
    expect(pinnedImageReference.safeParse('ghcr.io/acme/meltano').success).toBe(false);
    expect(pinnedImageReference.safeParse(' ghcr.io/acme/meltano:1 ').data).toBe(
      'ghcr.io/acme/meltano:1',
    );
  });
});
