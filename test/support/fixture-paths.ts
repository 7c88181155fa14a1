import path from 'node:path';

/** The real-world Meltano projects (copied from the shared fixtures; see its README and SOURCES.tsv). */
export const MELTANO_FIXTURES = path.resolve(process.cwd(), 'test/fixtures/meltano-projects');
