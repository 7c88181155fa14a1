/**
 * Git helpers shared by deploys and the local executor: how credentials reach git without ever
 * being written to .git/config, a command line or a log line.
 */

export interface GitAuth {
  /** URL stored as the remote: without any credentials. */
  remoteUrl: string;
  /** Extra environment for the git processes (the credential, as an HTTP header). */
  env: Record<string, string>;
  /** Strings to redact from git's output (the token and its encodings). */
  secrets: string[];
}

const HTTP_URL = /^https?:\/\//i;

/**
 * The credential goes to git as `http.<origin>/.extraHeader` through
 * GIT_CONFIG_* variables (as actions/checkout does, but in the environment,
 * which other users cannot read, instead of the command line). Scoping the
 * header to the origin keeps it from being sent to other hosts. A password
 * embedded in an https URL is treated the same way; other URLs (paths,
 * file://, ssh) are passed on unchanged and need no token.
 */
export function gitAuth(
  cloneUrl: string,
  token: string | undefined,
  baseEnv: Record<string, string>,
): GitAuth {
  const secrets = token ? [token] : [];
  if (!HTTP_URL.test(cloneUrl)) return { remoteUrl: cloneUrl, env: {}, secrets };
  let url: URL;
  try {
    url = new URL(cloneUrl);
  } catch {
    return { remoteUrl: cloneUrl, env: {}, secrets };
  }
  const username = safeDecode(url.username);
  const password = safeDecode(url.password);
  if (password) secrets.push(password, url.password);
  url.username = '';
  url.password = '';
  const remoteUrl = url.toString();
  const secret = token || password;
  if (!secret) return { remoteUrl, env: {}, secrets };
  // GitHub takes any user name with an installation token; x-access-token is the convention.
  const user = token ? 'x-access-token' : username || 'x-access-token';
  const basic = Buffer.from(`${user}:${secret}`).toString('base64');
  secrets.push(basic);
  const env = withGitConfig(baseEnv, [
    [`http.${url.origin}/.extraHeader`, `Authorization: Basic ${basic}`],
  ]);
  return { remoteUrl, env, secrets };
}

/** Adds `git -c` style settings through the environment, after any the base environment already has. */
export function withGitConfig(
  baseEnv: Record<string, string>,
  entries: [key: string, value: string][],
): Record<string, string> {
  const count = Number.parseInt(baseEnv.GIT_CONFIG_COUNT ?? '0', 10) || 0;
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(count + entries.length) };
  entries.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${count + index}`] = key;
    env[`GIT_CONFIG_VALUE_${count + index}`] = value;
  });
  return env;
}

/** Replaces every secret in `text` by ***. Very short strings are skipped: they would mangle output. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) if (secret.length >= 4) result = result.split(secret).join('***');
  return result;
}

/** The URL without credentials, for log lines. */
export function displayUrl(cloneUrl: string): string {
  if (!HTTP_URL.test(cloneUrl)) return cloneUrl;
  try {
    const url = new URL(cloneUrl);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return cloneUrl;
  }
}

/** git's own explanation from its stderr: the fatal:/error: lines, else the last line. */
export function gitMessage(stderrLines: readonly string[]): string | null {
  const errors = stderrLines
    .map((line) => /^(?:fatal|error): (.*)$/.exec(line.trim())?.[1])
    .filter((line): line is string => Boolean(line));
  if (errors.length > 0) return errors.join('; ');
  const last = stderrLines.filter((line) => line.trim() !== '').at(-1);
  return last?.trim() ?? null;
}

export const COMMIT_SHA = /^[0-9a-f]{7,64}$/i;

/** A branch name git accepts and that cannot be mistaken for an option or a refspec. */
export function isSafeBranchName(branch: string): boolean {
  return (
    branch.length > 0 &&
    !branch.startsWith('-') &&
    !branch.includes('..') &&
    !branch.endsWith('.lock') &&
    !branch.endsWith('/') &&
    // eslint-disable-next-line no-control-regex
    !/[\s~^:?*[\\\x00-\x1f\x7f]|@\{/.test(branch)
  );
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
