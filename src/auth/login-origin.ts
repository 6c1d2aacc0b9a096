/** As audit trails keep it (never the password). */
import type { FastifyRequest } from 'fastify';
import { clientAddress } from '../http/rate-limit.js';

export const loginOrigin = (request: FastifyRequest) => ({
  ip: clientAddress(request),
  userAgent: request.headers['user-agent']?.slice(0, 300) ?? null,
});
