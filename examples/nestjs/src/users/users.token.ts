import type { SmartInstance } from 'smartasync';
import type { UserStore } from './user.store';

/** The injection token of the wrapped store. */
export const USER_STORE = Symbol('USER_STORE');
/** What it provides: a UserStore whose methods are awaited and run on workers. */
export type Users = SmartInstance<UserStore>;
