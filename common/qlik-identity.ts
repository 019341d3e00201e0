// Who is the Qlik user behind an Audit.qs event? Butler SOS rules (SPEC 3.3), kept exactly so both
// tools agree on every user string Qlik Sense produces.

export interface QlikIdentity {
  userDirectory: string;
  userId: string;
}

/**
 * `UserDirectory=LAB; UserId=anna`, `LAB; UserId=anna` and `LAB\anna` give LAB/anna.
 * Anything else (`ACME/jdoe`, an e-mail, a bare name, `N/A`, empty) gives undefined: no ticket can be
 * redeemed for it.
 */
export function parseQlikIdentity(user: string): QlikIdentity | undefined {
  let userDirectory = '';
  let userId = '';
  if (user.includes(';')) {
    for (const part of user.split(';').map((p) => p.trim()).filter(Boolean)) {
      const eq = part.indexOf('=');
      if (eq >= 0) {
        const key = part.slice(0, eq).trim().toLowerCase();
        const value = part.slice(eq + 1).trim();
        if (key === 'userdirectory') userDirectory = value;
        else if (key === 'userid') userId = value;
      } else if (!userDirectory) {
        userDirectory = part; // a bare part is the directory, if none was named yet
      }
    }
  } else if (user.includes('\\')) {
    const slash = user.indexOf('\\');
    userDirectory = user.slice(0, slash).trim();
    userId = user.slice(slash + 1).trim();
  }
  return userDirectory && userId ? { userDirectory, userId } : undefined;
}
