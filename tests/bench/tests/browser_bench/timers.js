// The timer probe (B4): wraps the page's timer functions to count live timers. A timeout is
// live from setTimeout until it fires or is cleared; an interval until it is cleared. Browsers
// share one id space between the two, and either clear function clears either kind.
if (globalThis.__benchTimers) return;
const t = { timeouts: new Set(), intervals: new Set(), startedTimeouts: 0, startedIntervals: 0 };
globalThis.__benchTimers = t;
const [st, ct, si, ci] = [setTimeout, clearTimeout, setInterval, clearInterval];
globalThis.setTimeout = function (fn, ms, ...args) {
  t.startedTimeouts++;
  const id = st.call(globalThis, (...a) => {
    t.timeouts.delete(id);
    if (typeof fn === 'function') fn(...a);
  }, ms, ...args);
  t.timeouts.add(id);
  return id;
};
globalThis.setInterval = function (fn, ms, ...args) {
  t.startedIntervals++;
  const id = si.call(globalThis, fn, ms, ...args);
  t.intervals.add(id);
  return id;
};
const clear = (id) => { t.timeouts.delete(id); t.intervals.delete(id); };
globalThis.clearTimeout = function (id) { clear(id); ct.call(globalThis, id); };
globalThis.clearInterval = function (id) { clear(id); ci.call(globalThis, id); };
