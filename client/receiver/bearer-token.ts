// `eventApi.apiToken`: when set, every API request needs `Authorization: Bearer <token>`.
// Compared in constant time (over SHA-256 digests, so the length does not leak either).
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

export function bearerTokenChecker(apiToken: string): (authorization: string | undefined) => boolean {
  if (!apiToken) return () => true;
  const expected = digest(apiToken);
  return (authorization) => {
    const match = /^Bearer[ \t]+(.+)$/i.exec(authorization?.trim() ?? '');
    return match !== null && timingSafeEqual(digest(match[1] ?? ''), expected);
  };
}
