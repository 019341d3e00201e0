// Preparing a Temporal namespace for the product (SPEC 2 `qlik-audit setup`, 3.5): our four Keyword
// search attributes. Registered through the Operator service on self-hosted clusters and dev
// servers; Temporal Cloud does not allow that API, so there we name the exact `tcld` command.
// `worker` and `receiver` check at start (one cheap call) and stop with one line naming `setup`.
import { temporal } from '@temporalio/proto';
import { searchAttributes } from '../common/search-attributes';
import { grpcCode } from './temporal-errors';

type OperatorService = {
  listSearchAttributes(request: { namespace: string }): Promise<temporal.api.operatorservice.v1.IListSearchAttributesResponse>;
  addSearchAttributes(request: temporal.api.operatorservice.v1.IAddSearchAttributesRequest): Promise<unknown>;
};
type WorkflowService = {
  listWorkflowExecutions(request: temporal.api.workflowservice.v1.IListWorkflowExecutionsRequest): Promise<unknown>;
};
export interface TemporalServices {
  operatorService: OperatorService;
  workflowService: WorkflowService;
}

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
const PERMISSION_DENIED = 7;
const UNIMPLEMENTED = 12;
const INVALID_ARGUMENT = 3;

/** A problem the user fixes by running `qlik-audit setup` (or the tcld command it prints). */
export class NamespaceNotReadyError extends Error {
  override name = 'NamespaceNotReadyError';
}

export interface SearchAttributeState {
  /** Ours that the namespace has as Keyword. */
  present: string[];
  /** Ours that it lacks. */
  missing: string[];
  /** Ours registered with another type (cannot be fixed by adding). */
  wrongType: { name: string; type: string }[];
}

/** The exact Temporal Cloud command for the attributes that are missing. */
export function tcldCommand(namespace: string, names: readonly string[] = searchAttributes.map((k) => k.name)): string {
  return `tcld namespace search-attributes add --namespace ${namespace} ${names.map((n) => `--search-attribute "${n}=Keyword"`).join(' ')}`;
}

/**
 * Which of our attributes the namespace has. Through the Operator service where allowed; where it
 * is not (Temporal Cloud), a one-row visibility query that names every attribute tells whether all exist.
 */
export async function searchAttributeState(services: TemporalServices, namespace: string): Promise<SearchAttributeState | 'all-present' | 'some-missing'> {
  try {
    const { customAttributes } = await services.operatorService.listSearchAttributes({ namespace });
    const state: SearchAttributeState = { present: [], missing: [], wrongType: [] };
    for (const { name } of searchAttributes) {
      const type = customAttributes?.[name];
      if (type === undefined || type === null) state.missing.push(name);
      else if (type !== KEYWORD) state.wrongType.push({ name, type: temporal.api.enums.v1.IndexedValueType[type] ?? String(type) });
      else state.present.push(name);
    }
    return state;
  } catch (err) {
    const code = grpcCode(err);
    if (code !== PERMISSION_DENIED && code !== UNIMPLEMENTED) throw err;
  }
  const query = searchAttributes.map((k) => `${k.name} = 'qlik-audit-probe'`).join(' OR ');
  try {
    await services.workflowService.listWorkflowExecutions({ namespace, pageSize: 1, query });
    return 'all-present';
  } catch (err) {
    if (grpcCode(err) === INVALID_ARGUMENT) return 'some-missing';
    throw err;
  }
}

export type SetupOutcome =
  | { ok: true; namespace: string; registered: string[]; alreadyPresent: string[] }
  | { ok: false; namespace: string; message: string };

/** Registers what is missing; idempotent. */
export async function setupNamespace(services: TemporalServices, namespace: string): Promise<SetupOutcome> {
  const state = await searchAttributeState(services, namespace);
  if (state === 'all-present') return { ok: true, namespace, registered: [], alreadyPresent: searchAttributes.map((k) => k.name) };
  if (state !== 'some-missing' && state.wrongType.length > 0) {
    const list = state.wrongType.map((w) => `${w.name} (${w.type})`).join(', ');
    return { ok: false, namespace, message: `namespace ${namespace} has ${list} with another type than Keyword; remove them (temporal operator search-attribute remove) and run setup again` };
  }
  const missing = state === 'some-missing' ? searchAttributes.map((k) => k.name) : state.missing;
  const present = state === 'some-missing' ? [] : state.present;
  if (missing.length === 0) return { ok: true, namespace, registered: [], alreadyPresent: present };
  try {
    await services.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])) });
  } catch (err) {
    const code = grpcCode(err);
    if (code === PERMISSION_DENIED || code === UNIMPLEMENTED) {
      return {
        ok: false,
        namespace,
        message: `this Temporal server does not let us register search attributes (Temporal Cloud does not allow the Operator API); run: ${tcldCommand(namespace, missing)}`,
      };
    }
    throw err;
  }
  return { ok: true, namespace, registered: missing, alreadyPresent: present };
}

/** The start-up check of `worker` and `receiver`: throws one line naming `qlik-audit setup` when attributes are missing. */
export async function requireSearchAttributes(services: TemporalServices, namespace: string): Promise<void> {
  const state = await searchAttributeState(services, namespace);
  const missing = state === 'all-present' ? [] : state === 'some-missing' ? ['some of QlikUserId, QlikUserDirectory, QlikAppId, ScreenshotOutcome'] : [...state.missing, ...state.wrongType.map((w) => `${w.name} (not Keyword)`)];
  if (missing.length > 0) {
    throw new NamespaceNotReadyError(`namespace ${namespace} is missing search attributes ${missing.join(', ')}: run 'qlik-audit setup --config <file>' once (Temporal Cloud: ${tcldCommand(namespace)})`);
  }
}
