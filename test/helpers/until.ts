// Waiting for something a test cannot be told about (a background request, a row written after a
// delivery): poll it with a deadline instead of sleeping a fixed time and hoping.
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `condition` until it holds or `ms` have passed; says whether it held (the caller asserts). */
export async function until(condition: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<boolean> {
  for (const deadline = Date.now() + ms; ; await sleep(everyMs)) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
  }
}
