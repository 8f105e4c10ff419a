import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dashboard (src-renderer/) builds to dist/renderer, which the local server serves at /.
export default defineConfig({
  root: 'src-renderer',
  base: './',
  plugins: [react()],
  build: { outDir: '../dist/renderer', emptyOutDir: true },
});
