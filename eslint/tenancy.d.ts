import type { Linter } from 'eslint';

export declare const tenancyRestrictedImports: Record<string, unknown>;
export declare function tenancyConfig(): Linter.Config[];
