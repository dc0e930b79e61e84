import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one structured logger of a function's process (Powertools: JSON lines with the request id,
 * cold start and function name once `injectLambdaContext` runs). Service name and level come from
 * POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL, set by the declaration's environment.
 */
export const logger = new Logger();
