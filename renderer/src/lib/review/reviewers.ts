/**
 * The Reviewers panel's rules (team mode, the owner's): which accounts can be added to a session and how a
 * failed change is worded. Kept out of the component so they are tested under Node.
 */
import type { ReviewAssignView, TeamUserView } from '../../../../src/api/contract.js';

/** The roles the server lets rate: `review.assign` refuses a viewer (409), so the picker never offers one. */
export const RATING_ROLES: readonly TeamUserView['role'][] = ['reviewer', 'owner'];

export interface Candidates {
  /** Accounts that can be added: not assigned yet and allowed to rate, reviewers before owners, by name. */
  addable: TeamUserView[];
  /** Viewers not assigned: named in the panel so the owner knows why they are not offered. */
  viewers: string[];
}

export function candidates(
  users: readonly TeamUserView[],
  assigned: ReviewAssignView['assigned'],
): Candidates {
  const taken = new Set(assigned.map((a) => a.user));
  const open = users.filter((u) => !taken.has(u.name));
  const rank = (r: TeamUserView['role']) => RATING_ROLES.indexOf(r);
  return {
    addable: open
      .filter((u) => rank(u.role) >= 0)
      .sort((a, b) => rank(a.role) - rank(b.role) || a.name.localeCompare(b.name)),
    viewers: open
      .filter((u) => u.role === 'viewer')
      .map((u) => u.name)
      .sort(),
  };
}

export type ReviewerChange = 'load' | 'assign' | 'unassign';

/** "Could not add ann to “Pilot”: <the server's reason>": what failed, then why, as the panel shows it. */
export function changeError(change: ReviewerChange, user: string, session: string, reason: string): string {
  const what =
    change === 'load'
      ? `Could not load the reviewers of “${session}”`
      : change === 'assign'
        ? `Could not add ${user} to “${session}”`
        : `Could not remove ${user} from “${session}”`;
  return `${what}: ${reason}`;
}

/** "1 item" / "8 items". */
export function itemsText(n: number): string {
  return `${n} item${n === 1 ? '' : 's'}`;
}
