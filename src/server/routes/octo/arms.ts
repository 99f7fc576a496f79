/** /octo/arms: each arm's capability descriptor, and direct calls of one arm (outside any task). */
import type { FastifyInstance } from "fastify";
import { clientGone } from "../../request-context.js";
import type { Services } from "../../services.js";

export async function octoArmRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get("/octo/arms", async () => ({ object: "list", data: await services.octo.arms.list() }));

  app.post("/octo/arms/:arm", async (request, reply) => {
    const { arm } = request.params as { arm: string };
    const { signal } = clientGone(request, reply);
    return { object: "octo.arm.result", ...(await services.octo.arms.call(arm, request.body ?? {}, signal)) };
  });
}
