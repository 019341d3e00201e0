// The worker's one handle on the audit store (auditSecurityLog.store), opened on first use and shared
// by every activity group: one pg pool (and one presence on an embedded server) per worker is enough.
// A failed open is not cached, so the next attempt tries again (PostgreSQL may be back).
import { openStore, type AuditStore } from '../store/store';
import type { ActivityDeps } from './deps';

export type StoreHandle = () => Promise<AuditStore>;

export function storeHandle({ config, auditStore, cleanup }: ActivityDeps): StoreHandle {
  let store: Promise<AuditStore> | undefined;
  // A store opened here is closed here (one given in deps belongs to whoever gave it).
  if (!auditStore) cleanup?.add(async () => (await store?.catch(() => undefined))?.close());
  return () =>
    (store ??= (auditStore ?? (() => openStore(config.auditSecurityLog.store, { applicationName: 'qlik-audit worker' })))().catch((err: Error) => {
      store = undefined;
      throw err;
    }));
}
