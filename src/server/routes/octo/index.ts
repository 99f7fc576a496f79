import type { FastifyInstance } from "fastify";
import type { Services } from "../../services.js";
import { octoArmRoutes } from "./arms.js";
import { octoCollectionRoutes } from "./collections.js";
import { octoReflexRoutes } from "./reflex.js";
import { octoTaskRoutes } from "./tasks.js";

/** The Octo surface (/octo): tasks, arms, collections, reflex. Errors use the OpenAI envelope like /v1. */
export async function octoRoutes(app: FastifyInstance, services: Services): Promise<void> {
  await octoTaskRoutes(app, services);
  await octoArmRoutes(app, services);
  await octoCollectionRoutes(app, services);
  await octoReflexRoutes(app, services);
}
