// No silent waits: `--wait` commands check that some worker polls the task queue. If none does
// within a few seconds, they say so on stderr — which queue, and how to start a worker — and keep
// waiting (a worker may come), saying once when one does.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const FIRST_CHECK_MS = 3000;
const RECHECK_MS = 10_000;

async function pollers(client: Client, taskQueue: string): Promise<number> {
  const answer = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return answer.pollers?.length ?? 0;
}

/** Runs `wait` while watching the task queue; `say` writes one line (stderr). */
export async function waitWithWorkerWatch<T>(client: Client, taskQueue: string, wait: Promise<T>, say: (line: string) => void): Promise<T> {
  let warned = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    try {
      const count = await pollers(client, taskQueue);
      if (count === 0 && !warned) {
        warned = true;
        say(`no worker polls task queue '${taskQueue}' (namespace ${client.options.namespace}): start one with 'qlik-audit worker --config <file>' (same temporal.* settings); still waiting, Ctrl-C to stop`);
      } else if (count > 0 && warned) {
        warned = false;
        say(`a worker polls task queue '${taskQueue}' now; waiting for the result`);
      }
    } catch {
      // A check that fails says nothing: the wait itself reports what matters.
    }
    timer = setTimeout(check, RECHECK_MS);
    timer.unref();
  };
  timer = setTimeout(check, FIRST_CHECK_MS);
  timer.unref();
  try {
    return await wait;
  } finally {
    clearTimeout(timer);
  }
}
