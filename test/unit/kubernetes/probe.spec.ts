import { KubeConfig, BatchV1Api } from '@kubernetes/client-node';
import { Job } from 'kubernetes-models/batch/v1/Job';
it('loads', () => {
  const kc = new KubeConfig();
  expect(kc.makeApiClient(BatchV1Api)).toBeTruthy();
  expect(() => new Job({ metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'a', image: 1 as any }] } } } }).validate()).toThrow();
  new Job({ metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'b' }] } } } }).validate();
});
