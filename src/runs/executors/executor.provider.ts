import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import type { Executor } from './executor.js';
import { LocalExecutor } from './local/local-executor.js';
import { KubernetesExecutor } from './kubernetes/kubernetes-executor.js';

/** Injection token of the executor this worker uses, chosen by EXECUTOR (local by default). */
export const EXECUTOR = Symbol('EXECUTOR');

export function createExecutor(config: AppConfig): Executor {
  if (config.worker.executor === 'kubernetes') {
    const k8s = config.kubernetes;
    if (!k8s) throw new Error('EXECUTOR=kubernetes needs K8S_API_URL');
    const logger = new Logger('kubernetes');
    return new KubernetesExecutor({
      kubeConfig: KubernetesExecutor.kubeConfigFor({
        apiUrl: k8s.apiUrl,
        ...(k8s.token ? { token: k8s.token } : {}),
        ...(k8s.caFile ? { caFile: k8s.caFile } : {}),
        skipTlsVerify: k8s.skipTlsVerify,
      }),
      settings: {
        namespace: k8s.namespace,
        meltanoImage: k8s.meltanoImage,
        gitImage: k8s.gitImage,
        cpu: k8s.cpu,
        memory: k8s.memory,
        jobTtlSeconds: k8s.jobTtlSeconds,
      },
      logger: { warn: (m: string) => logger.warn(m) },
    });
  }
  const workRoot = config.worker.runWorkdir ?? path.join(tmpdir(), 'meltano-cloud-runs');
  return new LocalExecutor({
    workRoot,
    meltanoBin: config.worker.meltanoBin,
    gitBin: config.worker.gitBin,
    // Only what a pipeline needs from the worker's environment: never the worker's own secrets.
    baseEnv: { HOME: workRoot, ...config.worker.childEnv, HOSTNAME: hostname() },
  });
}
