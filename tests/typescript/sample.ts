// A sample client of the Lumiku API written as a TypeScript user would write it: types from
// openapi-typescript (./lumiku.ts, generated from the served /openapi.json by generate.mjs),
// calls through openapi-fetch. It is compiled (tsc --noEmit) by tests/contract, never run:
// if the document stops describing a flow, this stops compiling.
import createClient from "openapi-fetch";
import type { components, paths } from "./lumiku";

type ErrorBody = components["schemas"]["ErrorBody"];

/** Return "field: problem" lines of a 422 (details.fields), or the message. */
export function explain(error: ErrorBody): string[] {
  const fields: Record<string, string> = error.error.details.fields ?? {};
  const lines = Object.entries(fields).map(([field, problem]) => `${field}: ${problem}`);
  return lines.length > 0 ? lines : [error.error.message];
}

export async function signUpAndSpend(baseUrl: string, photo: Blob): Promise<string[]> {
  const api = createClient<paths>({ baseUrl });
  const registered = await api.POST("/api/auth/register", {
    body: { email: "ana@example.com", password: "a long passphrase 1", name: "Ana" },
  });
  if (registered.error) {
    return explain(registered.error); // 409: the email is taken; 422: details.fields
  }
  const login = await api.POST("/api/auth/login", {
    body: { email: "ana@example.com", password: "a long passphrase 1" },
  });
  if (login.error) {
    const retryAfter: number | undefined = login.error.error.details.retryAfter;
    return [...explain(login.error), `retry after ${retryAfter ?? 0}s`];
  }
  const token: string = login.data.token;
  const user = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

  const profile = await user.GET("/api/auth/profile");
  const email: string | undefined = profile.data?.user.email;
  const balance = await user.GET("/api/credits/balance");
  const available: number = balance.data?.available ?? 0;

  const amounts: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await user.GET("/api/credits/history", { params: { query: { limit: 50, cursor } } });
    if (!page.data) break;
    amounts.push(...page.data.entries.map((entry) => entry.amount));
    cursor = page.data.nextCursor ?? undefined;
  } while (cursor);

  const project = await user.POST("/api/apps/avatar-creator/projects", {
    params: { header: { "Idempotency-Key": "create-team-1" } },
    body: { name: "Team" },
  });
  if (project.error) {
    return explain(project.error);
  }
  const projectId: string = project.data.id;
  const replayed: string | null = project.response.headers.get("Idempotent-Replayed");

  const upload = await user.POST("/api/apps/avatar-creator/projects/{projectId}/avatars/upload", {
    params: { path: { projectId }, header: { "Idempotency-Key": "upload-1" } },
    body: { name: "Me", image: photo, personaAge: 30 },
    bodySerializer(body) {
      const form = new FormData();
      for (const [name, value] of Object.entries(body)) {
        form.append(name, value instanceof Blob ? value : String(value));
      }
      return form;
    },
  });
  if (upload.error) {
    const lines = explain(upload.error);
    if (upload.response.status === 402) {
      lines.push(`needs ${upload.error.error.details.required ?? "?"} credits`);
    }
    return lines;
  }

  const queued = await user.POST("/api/apps/avatar-creator/projects/{projectId}/avatars/generate", {
    params: { path: { projectId }, header: { "Idempotency-Key": "generate-1" } },
    body: { name: "Made", prompt: "a friendly portrait, studio light" },
  });
  if (queued.error) {
    return explain(queued.error);
  }
  let generation = queued.data.generation;
  while (generation.status === "pending" || generation.status === "processing") {
    const polled = await user.GET("/api/apps/avatar-creator/generations/{generationId}", {
      params: { path: { generationId: generation.id } },
    });
    if (!polled.data) break;
    generation = polled.data;
  }
  const image = await fetch(`${baseUrl}${upload.data.avatar.imageUrl}`);

  const payment = await user.POST("/api/payments", {
    params: { header: { "Idempotency-Key": "pay-1" } },
    body: { packageId: "topup-1500" },
  });
  const paymentUrl: string | null | undefined = payment.data?.paymentUrl;

  return [
    email ?? "",
    String(available),
    String(amounts.length),
    replayed ?? "",
    generation.status,
    String(image.status),
    paymentUrl ?? "",
  ];
}
