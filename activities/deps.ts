// What activities need from the worker process; tests pass their own (e.g. a logger they can read).
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';

export interface ActivityDeps {
  config: Config;
  logger: Logger;
}
