import type { FastifyInstance } from "fastify";
import type { Services } from "../services.js";

/** Liveness and readiness, for load balancers and service managers. */
export async function healthRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get("/healthz", async () => ({ status: "ok", version: services.version, uptime_s: Math.round((Date.now() - services.startedAt) / 1000) }));

  app.get("/readyz", async (_request, reply) => {
    const ready = services.models.list().filter((model) => model.state === "ready").map((model) => model.id);
    if (ready.length === 0) {
      return reply.status(503).send({ status: "not_ready", reason: "no model is loaded and ready", loading: services.models.loadingCount });
    }
    return { status: "ready", models: ready };
  });
}
