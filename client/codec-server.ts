// The Temporal Web UI's remote codec endpoint (SPEC 8): POST /encode and /decode of payloads in
// proto3 JSON ({"payloads":[{"metadata":{…base64},"data":base64}]}), for the UI's origins (CORS) and
// for whoever holds the token — as `Authorization: Bearer <token>`, or in the endpoint's path
// (`/t/<token>`) for the Web UI, which cannot add a header of its own. Nothing is logged of a payload.
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Config } from '../common/config';
import { bearerTokenChecker } from './receiver/bearer-token';

const payloadsSchema = z.strictObject({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() }))
    .max(10_000),
});

const toPayload = (p: { metadata?: Record<string, string>; data?: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export async function createCodecServer(config: Config, codec: PayloadCodec, token: string): Promise<FastifyInstance> {
  if (token.length < 16) throw new Error('codecServer.token (or env QLIK_AUDIT_CODEC_TOKEN) must be set, at least 16 characters: it is what stands between the Web UI\'s viewers and the plain payloads');
  const tokenOk = bearerTokenChecker(token); // constant time, the length included
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  await app.register(cors, {
    origin: config.codecServer.allowedOrigins,
    methods: ['POST'],
    allowedHeaders: ['content-type', 'x-namespace', 'authorization'],
    credentials: true,
    maxAge: 600,
  });
  const handle = (op: 'encode' | 'decode', pathToken?: string) => async (request: { headers: Record<string, string | string[] | undefined>; body: unknown }, reply: { code(n: number): { send(b: unknown): unknown } }) => {
    const authorization = pathToken === undefined ? request.headers.authorization : `Bearer ${pathToken}`;
    if (!tokenOk(typeof authorization === 'string' ? authorization : undefined)) return reply.code(401).send({ error: 'a codec token is required (Authorization: Bearer <token>, or the endpoint /t/<token>)' });
    const parsed = payloadsSchema.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ error: 'expected {"payloads":[{"metadata":{...},"data":"..."}]}' });
    try {
      const out = await codec[op](parsed.data.payloads.map(toPayload));
      return { payloads: out.map(toJson) };
    } catch (err) {
      return reply.code(400).send({ error: (err as Error).message });
    }
  };
  app.post('/encode', handle('encode'));
  app.post('/decode', handle('decode'));
  app.post<{ Params: { token: string } }>('/t/:token/encode', (request, reply) => handle('encode', request.params.token)(request, reply));
  app.post<{ Params: { token: string } }>('/t/:token/decode', (request, reply) => handle('decode', request.params.token)(request, reply));
  return app;
}
