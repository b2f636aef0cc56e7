import { addRaterToSession } from '../../review/session.js';
import { isRole, ROLES, type Role, type Store } from '../../store/index.js';
import { type Command, type Io, intOption } from '../command.js';
import { UsageError, UserError } from '../errors.js';
import { withStore } from '../store.js';

/**
 * A password from the terminal with echo off, or the first line of stdin when it is not a terminal (scripts:
 * `printf '%s\n' "$PW" | xwb user add ann --role reviewer`). Never from the command line, where `ps` and the
 * shell history would show it.
 */
export async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((ok, fail) => {
      let typed = '';
      const onData = (d: Buffer) => {
        for (const ch of d.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            return ok(typed);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            return fail(new UserError('cancelled'));
          }
          if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
          else typed += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

async function newPassword(io: Io, name: string): Promise<string> {
  const ask = io.secret ?? readSecret;
  const { passwordProblem } = await import('../../server/team/password.js');
  const pw = await ask(`password for ${name}: `);
  const problem = passwordProblem(pw, name);
  if (problem) throw new UserError(`${problem}; the user was not changed`);
  // Typed at a terminal: once more, since nobody sees what was typed.
  if (io.secret === undefined && process.stdin.isTTY) {
    const again = await ask('the same password again: ');
    if (again !== pw) throw new UserError('the two passwords differ; the user was not changed');
  }
  return pw;
}

function roleOption(values: Record<string, unknown>): Role {
  const r = values.role;
  if (r === undefined) throw new UsageError(`--role is required: one of ${ROLES.join(', ')}`);
  if (!isRole(r)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${String(r)}"`);
  return r;
}

function userError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message);
  }
}

const SUBCOMMANDS = ['add', 'list', 'remove', 'passwd', 'role', 'assign'] as const;

export const userCommand: Command = {
  name: 'user',
  summary:
    'Team accounts for `xwb serve --team`: add NAME --role owner|reviewer|viewer (the password is read from the ' +
    'terminal, or the first line of stdin; never from the command line), list, remove NAME, passwd NAME, ' +
    'role NAME --role R, assign NAME --session N [--unassign] (a reviewer to a review session).',
  usage:
    'xwb user add|list|remove|passwd|role|assign [NAME] [--role owner|reviewer|viewer] [--session N] [--unassign] [--db PATH] [--json]',
  positionals: [1, 2],
  options: {
    role: { type: 'string' },
    session: { type: 'string' },
    unassign: { type: 'boolean' },
  },
  async run(args, io) {
    const [sub, rawName] = args.positionals;
    if (!(SUBCOMMANDS as readonly string[]).includes(sub))
      throw new UsageError(`unknown subcommand "${sub}": use one of ${SUBCOMMANDS.join(', ')}`);
    if (sub !== 'list' && rawName === undefined) throw new UsageError(`xwb user ${sub} needs a user NAME`);
    const { accountName } = await import('../../store/index.js');
    const name = rawName === undefined ? '' : userError(() => accountName(rawName));
    const json = Boolean(args.values.json);
    const say = (text: string, data: unknown) => io.out(json ? JSON.stringify(data) : text);

    if (sub === 'add') {
      const role = roleOption(args.values);
      const { hashPassword } = await import('../../server/team/password.js');
      return withStore(args, async (store) => {
        if (store.accounts.byName(name)) throw new UserError(`a user named "${name}" already exists`);
        const hash = await hashPassword(await newPassword(io, name));
        const a = userError(() => store.accounts.create({ name, role, passwordHash: hash }));
        say(`added ${a.role} "${a.name}"`, { name: a.name, role: a.role });
        return 0;
      });
    }
    return withStore(args, async (store: Store) => {
      switch (sub) {
        case 'list': {
          const list = store.accounts.list();
          if (json) io.out(JSON.stringify(list.map((a) => ({ name: a.name, role: a.role }))));
          else if (list.length === 0) io.out('no users yet; add one with: xwb user add NAME --role owner');
          else for (const a of list) io.out(`${a.name.padEnd(24)} ${a.role}`);
          return 0;
        }
        case 'remove':
          userError(() => store.accounts.remove(name));
          say(`removed "${name}" (their ratings and boxes stay in the store)`, { removed: name });
          return 0;
        case 'passwd': {
          if (!store.accounts.byName(name)) throw new UserError(`no user "${name}"`);
          const { hashPassword } = await import('../../server/team/password.js');
          const hash = await hashPassword(await newPassword(io, name));
          userError(() => store.accounts.setPassword(name, hash));
          say(`changed the password of "${name}" and signed them out everywhere`, { name });
          return 0;
        }
        case 'role': {
          const a = userError(() => store.accounts.setRole(name, roleOption(args.values)));
          say(`"${a.name}" is now ${a.role}`, { name: a.name, role: a.role });
          return 0;
        }
        default: {
          const sessionId = intOption(args.values, 'session', 0, 1);
          if (sessionId === 0) throw new UsageError('--session N is required (the review session id)');
          const a = store.accounts.byName(name);
          if (!a) throw new UserError(`no user "${name}"`);
          if (args.values.unassign) {
            store.accounts.unassign(sessionId, a.id);
            say(`"${a.name}" no longer reaches review session ${sessionId}`, { name: a.name, sessionId });
            return 0;
          }
          if (a.role === 'viewer') throw new UserError(`"${a.name}" is a viewer, who cannot rate`);
          const added = userError(() =>
            store.transaction(() => {
              const n = addRaterToSession(store, sessionId, store.ratings.getRater(a.raterId)!.name);
              store.accounts.assign(sessionId, a.id);
              return n;
            }),
          );
          say(
            `assigned review session ${sessionId} to "${a.name}"${added ? ` (${added} items added for them)` : ''}`,
            { name: a.name, sessionId, itemsAdded: added },
          );
          return 0;
        }
      }
    });
  },
};
