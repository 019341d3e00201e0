// What a receiver under test commits its events with: the config's audit store (in the testbed, a
// PostgreSQL schema of its own) behind the product's group-commit writer; closed at teardown.
import type { Config } from '../../common/config';
import { createEventWriter, type EventWriter } from '../../store/event-writer';
import { openStore, type AuditStore } from '../../store/store';
import { configuredDigestKey } from '../../store/digest';
import { beforeServerTeardown } from './temporal';

export async function eventStoreFor(config: Config): Promise<{ store: AuditStore; events: EventWriter }> {
  const store = await openStore(config.auditSecurityLog.store);
  const events = createEventWriter(store, { digestKey: configuredDigestKey(config.auditSecurityLog.digestKey) });
  beforeServerTeardown(async () => {
    await events.close();
    await store.close();
  });
  return { store, events };
}
