'use strict';
// The code under test in the leak-check examples: a session store whose `close` forgets to
// drop the session from its index when `leaky` is set.

class Session {
  constructor(id, user) {
    this.id = id;
    this.user = user;
    this.data = new Array(32).fill(user);
  }
}

function createSessionStore({ leaky = false } = {}) {
  const live = new Map();
  const byUser = new Map();
  let nextId = 1;
  return {
    open(user) {
      const session = new Session(nextId++, user);
      live.set(session.id, session);
      if (!byUser.has(user)) byUser.set(user, new Set());
      byUser.get(user).add(session);
      return session;
    },
    close(id) {
      const session = live.get(id);
      live.delete(id);
      if (!leaky) byUser.get(session.user).delete(session);
    },
  };
}

module.exports = { createSessionStore, Session };
