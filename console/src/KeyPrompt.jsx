import { useEffect, useRef, useState } from 'preact/hooks';

/** Asks once for the API key; it is kept in sessionStorage, so only for this tab. */
export function KeyPrompt({ error, onSubmit }) {
  const [key, setKey] = useState('');
  const input = useRef(null);
  useEffect(() => input.current && input.current.focus(), []);
  const submit = (e) => {
    e.preventDefault();
    if (key.trim()) onSubmit(key.trim());
  };
  return (
    <section class="card key-prompt" aria-labelledby="key-title">
      <h2 id="key-title">API key required</h2>
      <p>
        This service requires an API key. The console sends it as <code>Authorization: Bearer</code> and keeps it
        only for this browser tab.
      </p>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          ref={input}
          type="password"
          autocomplete="off"
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-describedby={error ? 'key-error' : undefined}
        />
        <button type="submit">Use key</button>
      </form>
      {error && (
        <p id="key-error" class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
