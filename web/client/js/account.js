// account.js — who the player is: the account panel of the page. A new
// visitor plays at once as a guest the server makes for them (no form);
// the panel then offers to sign up (which keeps that guest: its id, name
// and all it has), to sign in to another account, to change the name, and
// to sign out. The SDK's Auth (../sdk/arena.js) keeps and refreshes the
// tokens. Everything shown that a player chose (names, emails) is set as
// text, never as markup.

export class AccountPanel {
  // auth: the SDK's Auth. actions: rejoin(why) (the page's player is now
  // someone else, or renamed: join again as them), toast(text, isError).
  constructor(auth, actions) {
    this.auth = auth;
    this.actions = actions;
    this.enabled = false; // the server has accounts
    this.switching = false; // signing up, in or out: the page rejoins by itself
    this.$ = (id) => document.getElementById(id);
    this.$('signup-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.signUp();
    });
    this.$('signin-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.signIn();
    });
    this.$('signout').addEventListener('click', () => this.signOut(false));
    this.$('signout-all').addEventListener('click', () => this.signOut(true));
    this.$('export').addEventListener('click', () => this.download());
    this.$('delete').addEventListener('click', () => { this.$('delete-confirm').hidden = false; });
    this.$('delete-yes').addEventListener('click', () => this.deleteAccount());
    auth.on('change', () => this.show());
  }

  // start signs in silently: the kept session if there is one, else a new
  // guest, named as the player last named themselves if that name is free.
  // It resolves once the page may join: true as someone, false as nobody
  // when the server has no accounts or they are out of reach (play goes
  // on).
  async start(name) {
    try {
      if (this.auth.kept()) {
        try {
          await this.auth.refresh();
          this.enabled = true;
          return true;
        } catch (err) {
          if (err.status !== 401) throw err;
          // The session is over (expired, signed out everywhere): a new guest.
        }
      } else if (await accountsOff()) {
        // A server without accounts: nicknames as before.
        return false;
      }
      await this.newGuest(name);
      this.enabled = true;
      return true;
    } catch (err) {
      this.enabled = err.code !== 'no_accounts';
      // A server without accounts: nicknames as before.
      if (err.code !== 'no_accounts') this.error(err.status === 403 ? err.message : `Playing without an account for now: ${messageOf(err)}`);
      return false;
    } finally {
      this.show();
    }
  }

  async newGuest(name) {
    if (name) {
      try {
        return await this.auth.guest({ name });
      } catch (err) {
        // Taken, or not a name the server takes: one of its choosing.
        if (err.status !== 409 && err.status !== 400) throw err;
      }
    }
    return this.auth.guest();
  }

  // rename changes the account's name; it resolves to '' or an error to
  // show by the name field.
  async rename(name) {
    try {
      await this.auth.rename(name);
      this.actions.rejoin('rename');
      this.actions.toast(`You are ${name} now.`);
      return '';
    } catch (err) {
      return messageOf(err);
    }
  }

  get account() { return this.auth.account; }

  async signUp() {
    const email = this.$('signup-email').value.trim();
    const password = this.$('signup-password').value;
    const name = this.$('signup-name').value.trim();
    await this.busy('signup-form', async () => {
      const a = this.auth.account;
      if (a && a.guest) {
        // The guest becomes the account: same id, everything kept.
        await this.auth.link({ email, password });
      } else {
        await this.auth.register({ email, password, name: name || undefined });
      }
      let renamed = false;
      if (name && name !== this.auth.account?.name) {
        try {
          await this.auth.rename(name);
          renamed = true;
        } catch (err) {
          this.error(`Signed up, but the name stays: ${messageOf(err)}`);
        }
      }
      this.$('signup-password').value = '';
      this.$('signup').open = false;
      this.actions.toast('Signed up: this player is yours now, wherever you sign in.');
      if (renamed || !a?.guest) this.actions.rejoin('signup');
    });
  }

  async signIn() {
    const email = this.$('signin-email').value.trim();
    const password = this.$('signin-password').value;
    await this.busy('signin-form', async () => {
      await this.auth.login({ email, password });
      this.$('signin-password').value = '';
      this.$('signin').open = false;
      this.actions.toast(`Signed in as ${this.auth.account?.name ?? ''}.`);
      this.actions.rejoin('signin');
    });
  }

  // signOut ends the session (everywhere: every session of the account),
  // and the page plays on as a new guest.
  async signOut(everywhere) {
    await this.busy(null, async () => {
      try {
        await this.auth.logout({ everywhere });
      } catch (err) {
        // Signed out here all the same; the server forgets the session
        // when it lapses.
        if (everywhere) this.error(`Could not sign out the other devices: ${messageOf(err)}`);
      }
      this.actions.toast(everywhere ? 'Signed out everywhere.' : 'Signed out.');
      await this.newGuest('');
      this.actions.rejoin('signout');
    });
  }

  // download saves everything the account holds as a JSON file.
  async download() {
    await this.busy('account-data', async () => {
      const data = await this.auth.exportData();
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = 'arena-account.json';
      a.hidden = true;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
  }

  // deleteAccount deletes the account for good, and plays on as a new
  // guest.
  async deleteAccount() {
    await this.busy('account-data', async () => {
      await this.auth.deleteAccount();
      this.$('delete-confirm').hidden = true;
      this.$('account-data').open = false;
      this.actions.toast('Your account is deleted.');
      await this.newGuest('');
      this.actions.rejoin('deleted');
    });
  }

  // lost is called when the server ended the player's session (signed out
  // elsewhere, the session expired): play on as a new guest.
  async lost() {
    // Signing out everywhere closes this page's own connection too.
    if (!this.enabled || this.switching) return false;
    try {
      await this.newGuest('');
      this.actions.rejoin('lost');
      return true;
    } catch (err) {
      this.error(messageOf(err));
      return false;
    }
  }

  async busy(formId, fn) {
    const form = formId ? this.$(formId) : this.$('account-member');
    const buttons = [...form.querySelectorAll('button')];
    buttons.forEach((b) => { b.disabled = true; });
    this.error('');
    this.switching = true;
    try {
      await fn();
    } catch (err) {
      this.error(messageOf(err));
    } finally {
      this.switching = false;
      buttons.forEach((b) => { b.disabled = false; });
      this.show();
    }
  }

  error(text) { this.$('account-error').textContent = text; }

  // show draws who the player is.
  show() {
    const a = this.auth.account;
    const section = this.$('account');
    section.dataset.state = !a ? 'none' : a.guest ? 'guest' : 'member';
    const line = this.$('account-line');
    line.hidden = !a;
    this.$('account-guest').hidden = !this.enabled || !!(a && !a.guest);
    this.$('account-member').hidden = !a || a.guest;
    this.$('account-data').hidden = !a;
    if (!a) return;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = a.name;
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = a.guest ? 'guest' : a.email || 'account';
    line.replaceChildren(who, tag);
    const input = this.$('name');
    if (document.activeElement !== input) input.value = a.name;
    const signupName = this.$('signup-name');
    if (document.activeElement !== signupName && !signupName.value) signupName.value = a.name;
  }
}

// tabStorage says where this tab keeps its session. The first tab of
// the page in a browser plays as the browser's account (localStorage: a
// reload or a later visit is the same player). One account holds one seat
// a room, so a second tab opened meanwhile would take the first one's
// seat; it plays instead as a guest of its own, kept for the tab's life
// (sessionStorage): two tabs, two players, as before accounts. The first
// tab holds a Web Lock for as long as it lives; a reload waits a moment
// for its own, which the page it replaces is letting go. Without Web Locks
// (plain http off localhost) every tab is the browser's account.
export async function tabStorage() {
  const locks = globalThis.navigator?.locks;
  if (!locks) return { storage: localStorage, role: 'main' };
  const wasMain = sessionStorage.getItem(TAB_KEY) === 'main'; // a reload of the first tab
  const main = await holdLock(locks, 'arena.page:main', wasMain ? 1500 : 0);
  const role = main ? 'main' : 'extra';
  sessionStorage.setItem(TAB_KEY, role);
  return { storage: main ? localStorage : sessionStorage, role };
}

const TAB_KEY = 'arena.tab';

// holdLock takes the lock name for the page's life, waiting at most wait
// ms for it (0: only if it is free now); it resolves to whether it did.
function holdLock(locks, name, wait) {
  return new Promise((resolve) => {
    const ctl = new AbortController();
    const timer = wait ? setTimeout(() => ctl.abort(), wait) : 0;
    locks.request(name, wait ? { signal: ctl.signal } : { ifAvailable: true }, (lock) => {
      clearTimeout(timer);
      resolve(!!lock);
      return lock ? new Promise(() => {}) : undefined; // held until the page goes
    }).catch(() => resolve(false)); // waited in vain
  });
}

// accountsOff asks the server whether it has accounts before a first
// visit makes a guest: GET /api/modes says, per mode, whether its players
// sign in ("off" for every mode on a server without accounts). A server
// that does not say is asked by the guest sign-in itself (404: none).
async function accountsOff() {
  try {
    const res = await fetch('/api/modes', { cache: 'no-store' });
    const { modes } = await res.json();
    return Array.isArray(modes) && modes.length > 0 && modes.every((m) => m.auth === 'off');
  } catch {
    return false;
  }
}

// messageOf says what went wrong in a person's words: the server's
// message, and how long to wait when it asked for a pause.
export function messageOf(err) {
  const text = err?.message || String(err);
  if (err?.retryAfter && (err.status === 429 || err.status === 503)) return `${text} (try again in ${err.retryAfter} s)`;
  return text;
}
