import { useEffect, useRef } from 'preact/hooks';

/** Runs load() now and again (at most every `ms`) whenever `changes` moves on. */
export function useLiveReload(load, changes, deps, ms = 250) {
  const timer = useRef(0);
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    latest.current();
  }, deps);
  useEffect(() => {
    if (!changes) return undefined;
    if (!timer.current) {
      timer.current = setTimeout(() => {
        timer.current = 0;
        latest.current();
      }, ms);
    }
    return undefined;
  }, [changes]);
  useEffect(() => () => clearTimeout(timer.current), []);
}
