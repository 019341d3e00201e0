// Signed-in sessions and sign-ins under way, held by the server: the browser holds only a random id
// (256 bits) in an HttpOnly cookie, so a forged or guessed cookie names no session, and an expired one
// is refused however the browser kept it. A restart signs everyone out (nothing to steal at rest).
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Role } from './roles';

export interface Session {
  id: string;
  /** The person, as the identity provider names them, and their subject id. */
  actor: string;
  subject: string;
  role: Role;
  createdAt: number;
  expiresAt: number;
  /** Screenshots whose page this session opened (and so recorded): only those images are served. */
  opened: Set<string>;
  /** Screenshots shown on a trail page this session viewed (and so recorded): only those thumbnails are served. */
  shown: Set<string>;
}

export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  expiresAt: number;
}

const newId = () => randomBytes(32).toString('base64url');
/** At most this many screenshots remembered per session (a session that sees more re-opens pages). */
const REMEMBERED = 20_000;

export class Sessions {
  private readonly sessions = new LRUCache<string, Session>({ max: 10_000 });
  private readonly pending = new LRUCache<string, PendingSignIn>({ max: 2_000 });

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(person: { actor: string; subject: string; role: Role }): Session {
    const at = this.now();
    const session: Session = { id: newId(), ...person, createdAt: at, expiresAt: at + this.ttlMs, opened: new Set(), shown: new Set() };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session of this cookie value, or undefined (unknown, forged or expired). */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (this.now() >= session.expiresAt) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  remember(set: Set<string>, runId: string): void {
    if (set.size >= REMEMBERED) set.delete(set.values().next().value as string);
    set.add(runId);
  }

  /** A sign-in under way for 10 minutes, keyed by an id the browser keeps in a cookie. */
  startSignIn(signIn: Omit<PendingSignIn, 'expiresAt'>): string {
    const id = newId();
    this.pending.set(id, { ...signIn, expiresAt: this.now() + 10 * 60_000 });
    return id;
  }

  /** Takes the sign-in under way (once). */
  takeSignIn(id: string | undefined): PendingSignIn | undefined {
    if (!id) return undefined;
    const signIn = this.pending.get(id);
    this.pending.delete(id);
    return signIn && this.now() < signIn.expiresAt ? signIn : undefined;
  }
}
