import * as z from 'zod';
import { loadConfig } from '#shared/config/load-config.ts';
import { httpHandler, jsonResponse } from '#shared/middleware/http.ts';
import { healthReport } from './health.ts';

const config = loadConfig(z.object({ STAGE: z.string().min(1), POWERTOOLS_SERVICE_NAME: z.string().min(1) }));
const coldStartAt = new Date();

const handle = async () =>
  jsonResponse(
    200,
    healthReport({
      service: config.POWERTOOLS_SERVICE_NAME,
      stage: config.STAGE,
      now: new Date(),
      coldStartAt,
    }),
  );

export const handler = httpHandler(handle);
