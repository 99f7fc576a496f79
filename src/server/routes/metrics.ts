import type { FastifyInstance } from "fastify";
import type { Services } from "../services.js";

/** Prometheus metrics (`/metrics`), and the same registry as JSON for humans and dashboards. */
export async function metricsRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get("/metrics", async (_request, reply) => {
    const { contentType, body } = await services.metrics.prometheus();
    return reply.type(contentType).send(body);
  });

  app.get("/admin/metrics/json", async () => ({
    memory: services.memory.snapshot(services.models.modelsBytes()),
    models: services.models.list().map((model) => ({ id: model.id, state: model.state, in_flight: model.scheduler.inFlight, queued: model.scheduler.queued })),
    metrics: await services.metrics.json(),
  }));
}
