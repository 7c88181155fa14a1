import { refParam } from './slug.js';
import { ZodParams } from './zod.js';

/** `:org` and `:project` of `orgs/:org/projects/:project/…` (ids or slugs). */
export interface ProjectRefs {
  org: string;
  project: string;
}

/** `:org`, `:project` and `:deployment` of `…/deployments/:deployment/…` (ids or slugs). */
export interface DeploymentRefs extends ProjectRefs {
  deployment: string;
}

/** The path parameters of a route under a project, validated and documented, as one argument. */
export const ProjectParams = (): ParameterDecorator =>
  ZodParams({ org: refParam, project: refParam });

/** The path parameters of a route under a deployment, validated and documented, as one argument. */
export const DeploymentParams = (): ParameterDecorator =>
  ZodParams({ org: refParam, project: refParam, deployment: refParam });
