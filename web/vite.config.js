// Build settings for Carina's editor. `base: './'` keeps every asset URL
// relative so the server can embed dist/ and serve it at `/`; routes are
// hash-based (#/images/3) so relative URLs never break. The DICOM loader's
// decode worker is an ES module, and its package must not be pre-bundled or
// vite loses the worker and the on-demand codec chunks.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['@cornerstonejs/dicom-image-loader'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Cornerstone is large by nature; codecs are split out and load on demand.
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
});
