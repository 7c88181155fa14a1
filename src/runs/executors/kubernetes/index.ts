export { KubernetesExecutor, type KubernetesExecutorOptions } from './kubernetes-executor.js';
export { buildRunJob, buildRunSecret, runJobName, type KubernetesSettings } from './manifests.js';
