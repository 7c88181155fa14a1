/**
 * The run timeline's install step for Kubernetes runs. The follower reports
 * `pipeline_started` when the main container starts; the install happens
 * inside that container, so the step is read from the marker lines the
 * container script prints (plugin-install.ts), with the kubelet's
 * timestamps, and `pipeline_started` is reported again when the plugins are
 * ready: the later report wins (runs.repository), so billed runtime starts
 * after the install. Only the first marker of each kind counts (the pipeline's
 * own output cannot move the step later). With the deployment's own image
 * there is no install: the step is recorded as skipped (image).
 */
import type { ExecutionCallbacks, PluginInstall, RunSpec } from '../executor.js';
import { INSTALL_READY_MARKER, INSTALL_STARTED_MARKER } from './plugin-install.js';

export function withInstallPhases(
  spec: RunSpec,
  callbacks: ExecutionCallbacks,
): ExecutionCallbacks {
  if (spec.pluginImage) {
    return {
      onLog: (line) => callbacks.onLog(line),
      onPhase(phase, at, detail) {
        if (phase === 'pipeline_started') {
          callbacks.onPhase('install_started', at);
          callbacks.onPhase('install_finished', at, { install: 'image' });
        }
        callbacks.onPhase(phase, at, detail);
      },
    };
  }
  let started = false;
  let ready = false;
  return {
    onPhase: (phase, at, detail) => callbacks.onPhase(phase, at, detail),
    onLog(line) {
      callbacks.onLog(line);
      if (line.stream !== 'stdout' || ready) return;
      if (!started) {
        if (line.line !== INSTALL_STARTED_MARKER) return;
        started = true;
        callbacks.onPhase('install_started', line.timestamp);
        return;
      }
      const mode = /^(.*) \((installed|cached)\)$/.exec(line.line);
      if (!mode || mode[1] !== INSTALL_READY_MARKER) return;
      ready = true;
      callbacks.onPhase('install_finished', line.timestamp, {
        install: mode[2] as PluginInstall,
      });
      callbacks.onPhase('pipeline_started', line.timestamp);
    },
  };
}
