/** `kubectl get roles | clusterroles | rolebindings | clusterrolebindings | serviceaccounts`, with kube-apiserver's columns. */
import { ageSince } from './human-duration.ts';
import { ageColumn, column, type KindPrinter, nameColumn, nameOf, wide } from './kind-printer.ts';
import { at, list, records, text } from './object-fields.ts';

/** Roles show when they were made as an RFC 3339 time, not an age. */
function createdAt(timestamp: string | undefined): string {
  if (!timestamp) return '';
  const parsed = new Date(timestamp);
  return Number.isNaN(parsed.getTime()) ? '' : parsed.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const createdAtColumn = column('Created At', 'When the object was created (metadata.creationTimestamp).', { type: 'date' });

export const rolePrinter: KindPrinter = {
  columns: [nameColumn, createdAtColumn],
  print: (role) => ({ cells: [nameOf(role), createdAt(role.metadata.creationTimestamp)] }),
};

/** The subjects of a binding, split by kind: `alice, bob` / `devs` / `team-a/builder`. */
function subjectsByKind(subjects: unknown): { users: string; groups: string; serviceAccounts: string } {
  const users: string[] = [];
  const groups: string[] = [];
  const serviceAccounts: string[] = [];
  for (const subject of records(subjects)) {
    const name = text(subject.name);
    if (subject.kind === 'User') users.push(name);
    else if (subject.kind === 'Group') groups.push(name);
    else if (subject.kind === 'ServiceAccount') serviceAccounts.push(`${text(subject.namespace)}/${name}`);
  }
  return { users: users.join(', '), groups: groups.join(', '), serviceAccounts: serviceAccounts.join(', ') };
}

export const roleBindingPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Role', 'The Role or ClusterRole the binding grants (roleRef).'),
    ageColumn,
    wide('Users', 'Users in the roleBinding'),
    wide('Groups', 'Groups in the roleBinding'),
    wide('ServiceAccounts', 'ServiceAccounts in the roleBinding'),
  ],
  print(binding, now) {
    const subjects = subjectsByKind(binding.subjects);
    return {
      cells: [
        nameOf(binding),
        `${text(at(binding, 'roleRef', 'kind'))}/${text(at(binding, 'roleRef', 'name'))}`,
        ageSince(binding.metadata.creationTimestamp, now),
        subjects.users,
        subjects.groups,
        subjects.serviceAccounts,
      ],
    };
  },
};

export const serviceAccountPrinter: KindPrinter = {
  columns: [nameColumn, column('Secrets', 'Number of secrets listed in the ServiceAccount.', { type: 'integer' }), ageColumn],
  print: (account, now) => ({ cells: [nameOf(account), list(account.secrets).length, ageSince(account.metadata.creationTimestamp, now)] }),
};
