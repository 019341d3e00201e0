// Every activity of the product, built from its dependencies (config, logger, caches) so tests and
// the worker wire them the same way. Workflows import only the types: `typeof createActivities`.
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';

export interface ActivityDeps {
  config: Config;
  logger: Logger;
}

export function createActivities(_deps: ActivityDeps) {
  return {};
}

export type Activities = ReturnType<typeof createActivities>;
