/**
 * How a run's Pod gets its plugins, in three ways (each a small pure piece of
 * the Job manifest, see buildRunJob):
 *
 * - the deployment names its own image with the plugins installed at build
 *   time (`plugin_image`, Meltano's recommended production path): that image
 *   runs the pipeline, no `meltano install` at run time;
 * - a plugin cache volume is configured (K8S_PLUGIN_CACHE_PVC, a
 *   ReadWriteMany PersistentVolumeClaim): the Pod computes the install key as
 *   the local executor does (meltano.yml and the files its `include_paths`
 *   match, every file under `plugins/`, `meltano --version`), installs into
 *   `<volume>/<deployment>/<key>/` once and links the cached venvs into its own
 *   `.meltano/` (venvs hold absolute paths, so they stay where they were built:
 *   the volume is mounted at the same path in every Pod);
 * - otherwise: `meltano install` in the Pod, every run.
 *
 * The script prints two marker lines around the install step; the executor
 * turns them into the run timeline's install step (see install-phases.ts).
 */
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { RunSpec } from '../executor.js';

/** Where the plugin cache volume is mounted (the same in every Pod: venv paths are absolute). */
export const PLUGIN_CACHE_DIR = '/var/cache/meltano-cloud/plugins';
const PLUGIN_CACHE_VOLUME = 'plugin-cache';

/** Printed first, before anything is installed or looked up. */
export const INSTALL_STARTED_MARKER = '[meltano-cloud] plugins: install step started';
/** Printed once the plugins are ready, right before the pipeline: `… ready (installed|cached)`. */
export const INSTALL_READY_MARKER = '[meltano-cloud] plugins: ready';

export interface PluginInstallSettings {
  /** Image with `meltano`: the pipeline's image when the deployment names none. */
  meltanoImage: string;
  /** PersistentVolumeClaim holding installed plugins between runs; undefined: none. */
  pluginCacheClaim?: string | undefined;
}

/** The pipeline's image: the deployment's own, or the service's Meltano image. */
export function pipelineImage(spec: RunSpec, settings: PluginInstallSettings): string {
  return spec.pluginImage ?? settings.meltanoImage;
}

/** Whether the Pod installs into (and from) the cache volume. */
function usesCacheVolume(spec: RunSpec, settings: PluginInstallSettings): boolean {
  return !spec.pluginImage && Boolean(settings.pluginCacheClaim);
}

export function pluginCacheVolumes(spec: RunSpec, settings: PluginInstallSettings): V1Volume[] {
  if (!usesCacheVolume(spec, settings) || !settings.pluginCacheClaim) return [];
  return [
    {
      name: PLUGIN_CACHE_VOLUME,
      persistentVolumeClaim: { claimName: settings.pluginCacheClaim },
    },
  ];
}

export function pluginCacheMounts(spec: RunSpec, settings: PluginInstallSettings): V1VolumeMount[] {
  if (!usesCacheVolume(spec, settings)) return [];
  return [{ name: PLUGIN_CACHE_VOLUME, mountPath: PLUGIN_CACHE_DIR }];
}

/**
 * Values the install script reads from its environment (never interpolated
 * into the script: nothing needs quoting).
 */
export function pluginInstallEnv(
  spec: RunSpec,
  settings: PluginInstallSettings,
  repoDir: string,
): { name: string; value: string }[] {
  if (!usesCacheVolume(spec, settings)) return [];
  return [
    { name: 'MC_PLUGIN_CACHE', value: PLUGIN_CACHE_DIR },
    { name: 'MC_DEPLOYMENT_ID', value: spec.deploymentId },
    { name: 'MC_REPO_DIR', value: repoDir },
    { name: 'MC_ROOT_PATH', value: spec.rootPath || '.' },
    // An entry unused for longer than a run may last is not used by any run.
    { name: 'MC_PRUNE_MINUTES', value: String(Math.ceil(spec.timeoutSeconds / 60) + 5) },
    { name: 'MC_KEY_PY', value: INSTALL_KEY_PY },
  ];
}

/**
 * The install key, computed with the Python that runs Meltano (it has PyYAML):
 * meltano.yml, the files its include_paths match (pathlib glob, as Meltano's
 * ProjectFiles does), every file under plugins/, and the version. Prints 32
 * hex characters.
 */
export const INSTALL_KEY_PY = [
  'import hashlib, os, pathlib, sys, yaml',
  "main = yaml.safe_load(open('meltano.yml', encoding='utf-8')) or {}",
  "files, seen = ['meltano.yml'], {'meltano.yml'}",
  "for pattern in main.get('include_paths') or []:",
  "    for p in sorted(pathlib.Path('.').glob(pattern)):",
  '        rel = os.path.normpath(str(p))',
  '        if p.is_file() and rel not in seen:',
  '            seen.add(rel)',
  '            files.append(rel)',
  "plugins = pathlib.Path('plugins')",
  'if plugins.is_dir():',
  '    files += sorted(str(p) for p in plugins.rglob("*") if p.is_file() and not p.is_symlink())',
  'h = hashlib.sha256()',
  "h.update(('meltano-version\\0%s\\n' % sys.argv[1].strip()).encode())",
  'for f in files:',
  "    h.update(('%s\\0%s\\n' % (f, hashlib.sha256(open(f, 'rb').read()).hexdigest())).encode())",
  'print(h.hexdigest()[:32])',
].join('\n');

/** POSIX shell: the install step when a cache volume is mounted. Ends with the plugins ready. */
export const CACHED_INSTALL_SCRIPT = [
  'mc_install_here() { meltano install; }',
  'mc_cached_install() {',
  '  version=$(meltano --version) || return 1',
  `  py=$(head -n 1 "$(command -v meltano)" | sed -n 's/^#! *//p' | cut -d ' ' -f 1)`,
  '  case "$py" in */python*) ;; *) py=python3 ;; esac',
  `  key=$("$py" -c "$MC_KEY_PY" "$version" 2>/dev/null) || key=''`,
  '  case "$key" in',
  '    [0-9a-f][0-9a-f]*) ;;',
  "    *) echo '[meltano-cloud] install key not computable: installing for this run only'; mc_install_here || return 1; mode=installed; return 0 ;;",
  '  esac',
  '  dep="$MC_PLUGIN_CACHE/$MC_DEPLOYMENT_ID"',
  '  entry="$dep/$key"',
  '  mkdir -p "$dep"',
  // A lock left by a Pod that was killed mid-install: older than any run may last.
  '  if [ -d "$entry.lock" ] && [ -n "$(find "$entry.lock" -maxdepth 0 -mmin +"$MC_PRUNE_MINUTES")" ]; then rm -rf "$entry.lock"; fi',
  '  if [ -f "$entry/ready" ]; then',
  '    mode=cached',
  '  elif mkdir "$entry.lock" 2>/dev/null; then',
  '    rm -rf "$entry" && mkdir -p "$entry/repo"',
  '    (cd "$MC_REPO_DIR" && tar --exclude=./.git --exclude=.meltano -cf - .) | (cd "$entry/repo" && tar -xf -)',
  '    if (cd "$entry/repo/$MC_ROOT_PATH" && MELTANO_SYS_DIR_ROOT="$PWD/.meltano" meltano install); then',
  '      touch "$entry/ready"; rmdir "$entry.lock"; mode=installed',
  '    else',
  '      rm -rf "$entry"; rmdir "$entry.lock"; return 1',
  '    fi',
  '  else',
  "    echo '[meltano-cloud] another run is installing the same plugins: installing them for this run only'",
  '    mc_install_here || return 1; mode=installed; return 0',
  '  fi',
  '  touch "$entry/last-used"',
  '  cached="$entry/repo/$MC_ROOT_PATH/.meltano"',
  '  for venv in "$cached"/*/*/venv; do',
  '    [ -d "$venv" ] || continue',
  '    rel=${venv#"$cached"/}',
  '    mkdir -p ".meltano/${rel%/venv}" && ln -s "$venv" ".meltano/$rel"',
  '  done',
  // Lock files the install wrote (Meltano can lock definitions as it installs) that the checkout lacks.
  '  if [ -d "$cached/../plugins" ]; then',
  '    (cd "$cached/.." && find plugins -type f) | while IFS= read -r f; do',
  '      [ -e "$f" ] || { mkdir -p "$(dirname "$f")" && cp "$cached/../$f" "$f"; }',
  '    done',
  '  fi',
  '  echo "[meltano-cloud] install key $key: $mode"',
  // Superseded entries: not used for longer than a run may last, and not being built.
  '  for other in "$dep"/*; do',
  '    [ "$other" = "$entry" ] && continue',
  '    case "$other" in *.lock) continue ;; esac',
  '    [ -d "$other.lock" ] && continue',
  '    if [ -z "$(find "$other" -maxdepth 1 -name last-used -mmin -"$MC_PRUNE_MINUTES")" ]; then rm -rf "$other"; fi',
  '  done',
  '}',
].join('\n');

/**
 * The main container's script: the install step (skipped with a plugin
 * image), then the pipeline as PID 1 of the shell (`exec`) so it gets
 * SIGTERM when the Job is deleted.
 */
export function pipelineScript(
  spec: RunSpec,
  settings: PluginInstallSettings,
  pipeline: string,
): string {
  if (spec.pluginImage) return `exec ${pipeline}`;
  const started = `echo '${INSTALL_STARTED_MARKER}'`;
  if (!usesCacheVolume(spec, settings))
    return `${started} && meltano install && echo '${INSTALL_READY_MARKER} (installed)' && exec ${pipeline}`;
  return [
    'set -eu',
    started,
    CACHED_INSTALL_SCRIPT,
    'mode=installed',
    'mc_cached_install',
    `echo "${INSTALL_READY_MARKER} ($mode)"`,
    `exec ${pipeline}`,
  ].join('\n');
}
