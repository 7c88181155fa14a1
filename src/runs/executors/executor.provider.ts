import { existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import type { Executor } from './executor.js';
import { LocalExecutor } from './local/local-executor.js';
import { KubernetesExecutor } from './kubernetes/kubernetes-executor.js';

/** Injection token of the executor this worker uses, chosen by EXECUTOR (local by default). */
export const EXECUTOR = Symbol('EXECUTOR');

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Without K8S_TOKEN, inside a cluster: the service account's projected token,
 * which client-node re-reads as the kubelet rotates it.
 */
function kubeConfigFor(k8s: NonNullable<AppConfig['kubernetes']>): KubeConfig {
  if (!k8s.token && existsSync(IN_CLUSTER_TOKEN)) {
    const inCluster = new KubeConfig();
    inCluster.loadFromCluster();
    const cluster = inCluster.getCurrentCluster();
    inCluster.loadFromOptions({
      clusters: cluster
        ? [{ ...cluster, server: k8s.apiUrl, ...(k8s.caFile ? { caFile: k8s.caFile } : {}) }]
        : [],
      users: inCluster.users,
      contexts: inCluster.contexts,
      currentContext: inCluster.currentContext,
    });
    return inCluster;
  }
  return KubernetesExecutor.kubeConfigFor({
    apiUrl: k8s.apiUrl,
    ...(k8s.token ? { token: k8s.token } : {}),
    ...(k8s.caFile ? { caFile: k8s.caFile } : {}),
    skipTlsVerify: k8s.skipTlsVerify,
  });
}

export function createExecutor(config: AppConfig): Executor {
  if (config.worker.executor === 'kubernetes') {
    const k8s = config.kubernetes;
    if (!k8s) throw new Error('EXECUTOR=kubernetes needs K8S_API_URL');
    const logger = new Logger('kubernetes');
    return new KubernetesExecutor({
      kubeConfig: kubeConfigFor(k8s),
      settings: {
        namespace: k8s.namespace,
        meltanoImage: k8s.meltanoImage,
        gitImage: k8s.gitImage,
        cpu: k8s.cpu,
        memory: k8s.memory,
        jobTtlSeconds: k8s.jobTtlSeconds,
        pluginCacheClaim: k8s.pluginCacheClaim,
      },
      logger: { warn: (m: string) => logger.warn(m) },
    });
  }
  const workRoot = config.worker.runWorkdir ?? path.join(tmpdir(), 'meltano-cloud-runs');
  return new LocalExecutor({
    workRoot,
    meltanoBin: config.worker.meltanoBin,
    gitBin: config.worker.gitBin,
    ...(config.worker.pluginCacheDir ? { pluginCacheDir: config.worker.pluginCacheDir } : {}),
    // Only what a pipeline needs from the worker's environment: never the worker's own secrets.
    baseEnv: { HOME: workRoot, ...config.worker.childEnv, HOSTNAME: hostname() },
  });
}
