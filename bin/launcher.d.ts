// Types for bin/launcher.js (plain JavaScript, so the launcher runs before anything is built).
export declare const GLOBAL_OPTIONS_WITH_VALUE: string[]
export declare const TESTED_NODE_MAJORS: number[]
export declare const COPY_V8_FLAGS: string[]
export declare function commandOf(args: readonly string[]): string | null
export declare function tuneV8ForCopies(
  args: readonly string[],
  nodeVersion?: string,
  setFlags?: (flag: string) => void,
): string[]
export declare function helpFile(args: readonly string[], helpDir: URL): URL | null
