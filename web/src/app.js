// What every page shares, with no page of its own: who is logged in, the
// leave guard of the view that is showing, and navigation. main.js (the
// router) registers itself here; pages import this module, never main.js,
// so no import circle runs through the entry point.
import { setCsrfToken } from './api.js';

/** The logged-in user ({id, username, role}) or null. Read `session.user`. */
export const session = { user: null };

const userListeners = [];
let router = () => {};
let leaveGuard = null;

/** Called with the new user after every log-in or log-out. */
export function onUserChange(fn) {
  userListeners.push(fn);
}

export function setUser(user, csrf) {
  session.user = user;
  setCsrfToken(csrf);
  for (const fn of userListeners) fn(user);
}

/** main.js: the function that renders the page for the current hash. */
export function setRouter(fn) {
  router = fn;
}

/** Goes to `hash` (rendering it again when it is already there). */
export function navigate(hash) {
  if (location.hash === hash) router();
  else location.hash = hash;
}

/**
 * The showing view may veto leaving it (unsaved changes): `fn` returns true
 * when leaving is fine. The router clears it on every page change.
 */
export function setLeaveGuard(fn) {
  leaveGuard = fn;
}

/** Whether the showing view lets the user leave (asking it if it has a guard). */
export function mayLeave() {
  return !leaveGuard || leaveGuard();
}

export function clearLeaveGuard() {
  leaveGuard = null;
}
