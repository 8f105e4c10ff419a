import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

// Placeholder until the dashboard lands: shows where the mirror's metrics are.
function App() {
  return (
    <main>
      <h1>HexHub</h1>
      <p>
        The mirror is running. Point clients at it with <code>HEX_MIRROR</code> (mix) or <code>HEX_CDN</code> (rebar3); metrics are at{' '}
        <a href="/metrics">/metrics</a>.
      </p>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
