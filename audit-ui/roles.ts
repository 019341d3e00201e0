// Who may see what (SPEC 6.3): the role comes from one claim of the identity provider's token —
// auditors see everything, operators the store's status only, and anyone else nothing at all.
export type Role = 'auditor' | 'operator';

export interface RoleSettings {
  rolesClaim: string;
  auditorValues: readonly string[];
  operatorValues: readonly string[];
}

/** A claim by name, or by a dotted path for nested claims (Keycloak's realm_access.roles). */
function claimValues(claims: Record<string, unknown>, name: string): string[] {
  let value: unknown = name in claims ? claims[name] : undefined;
  if (value === undefined && name.includes('.')) {
    value = name.split('.').reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), claims);
  }
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** The role the claims grant (auditor over operator), or undefined: no access. */
export function roleFromClaims(claims: Record<string, unknown>, settings: RoleSettings): Role | undefined {
  const values = new Set(claimValues(claims, settings.rolesClaim));
  if (settings.auditorValues.some((v) => values.has(v))) return 'auditor';
  if (settings.operatorValues.some((v) => values.has(v))) return 'operator';
  return undefined;
}

/** What each role may open. */
export const CAN = {
  trails: (role: Role) => role === 'auditor',
  status: (_role: Role) => true,
} as const;
