// The console is served by the host: index.html at /, every other file flat under /console/.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    assetsDir: '',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // No inline data: URLs, so a strict Content-Security-Policy (default-src 'self') fits.
    assetsInlineLimit: 0,
  },
});
