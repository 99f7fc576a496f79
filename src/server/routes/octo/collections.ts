/**
 * /octo/collections: knowledge collections for the retriever arm. The retriever service validates
 * every payload with its own zod schemas (retriever/schemas.ts) and answers 400s naming the field.
 */
import type { FastifyInstance } from "fastify";
import { invalidRequest } from "../../../errors.js";
import type { CreateCollectionRequest, IngestRequest, QueryRequest } from "../../../octo/retriever/index.js";
import { clientGone } from "../../request-context.js";
import type { Services } from "../../services.js";

/** The retriever validates the fields; this only insists on an object, as every body must be. */
const asObject = (body: unknown): Record<string, unknown> => {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidRequest("The request body must be a JSON object.", null, "invalid_body");
  }
  return body as Record<string, unknown>;
};

const intQuery = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw invalidRequest(`Invalid '${name}': expected an integer.`, name);
  return n;
};

export async function octoCollectionRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const collections = () => services.octo.collections();

  app.post("/octo/collections", async (request, reply) => {
    return reply.status(201).send({ object: "octo.collection", ...collections().createCollection(asObject(request.body) as CreateCollectionRequest) });
  });

  app.get("/octo/collections", async () => ({ object: "list", data: collections().listCollections() }));

  app.get("/octo/collections/:collection", async (request) => {
    const { collection } = request.params as { collection: string };
    return { object: "octo.collection", ...collections().getCollection(collection) };
  });

  app.delete("/octo/collections/:collection", async (request) => {
    const { collection } = request.params as { collection: string };
    return { object: "octo.collection.deleted", ...collections().deleteCollection(collection) };
  });

  app.post("/octo/collections/:collection/documents", async (request, reply) => {
    const { collection } = request.params as { collection: string };
    const { signal } = clientGone(request, reply);
    return collections().ingest(collection, asObject(request.body) as IngestRequest, signal);
  });

  app.get("/octo/collections/:collection/documents", async (request) => {
    const { collection } = request.params as { collection: string };
    const query = request.query as { limit?: string; offset?: string };
    const data = collections().listDocuments(collection, { limit: intQuery(query.limit, "limit"), offset: intQuery(query.offset, "offset") });
    return { object: "list", data };
  });

  app.get("/octo/collections/:collection/documents/:document", async (request) => {
    const { collection, document } = request.params as { collection: string; document: string };
    return { object: "octo.document", ...collections().getDocument(collection, document) };
  });

  app.delete("/octo/collections/:collection/documents/:document", async (request) => {
    const { collection, document } = request.params as { collection: string; document: string };
    return { object: "octo.document.deleted", ...collections().deleteDocument(collection, document) };
  });

  app.post("/octo/collections/:collection/query", async (request, reply) => {
    const { collection } = request.params as { collection: string };
    const { signal } = clientGone(request, reply);
    return collections().query(collection, asObject(request.body) as QueryRequest, signal);
  });
}
