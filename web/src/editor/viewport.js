// The Cornerstone3D side of the viewer: one StackViewport per opened image,
// window/level on the full bit depth, presets, invert, zoom, pan, fit and
// 1:1, and the mapping between canvas (CSS pixel) coordinates and ORIGINAL
// image pixel coordinates that the box overlay and the stored boxes use.
import {
  RenderingEngine,
  Enums,
  metaData,
  init as csInit,
  eventTarget,
  cache,
  imageLoader,
  utilities as csUtils,
} from '@cornerstonejs/core';
import {
  init as toolsInit,
  addTool,
  ToolGroupManager,
  WindowLevelTool,
  PanTool,
  Enums as ToolEnums,
} from '@cornerstonejs/tools';
import { init as dicomInit } from '@cornerstonejs/dicom-image-loader';

const { MouseBindings } = ToolEnums;

// One wheel notch zooms by 1.7^(1/4) ≈ 1.14×, the step of cornerstoneTools'
// ZoomMouseWheelTool (changeViewportScale: scale = 1.7^(log1.7(scale) ± 1/4)),
// which OHIF's viewer used for wheel zoom; Cornerstone3D's ZoomTool turns a
// notch into a 5-pixel drag (≈ 1.03× on a 900-px viewport), five notches 1.18×.
export const WHEEL_ZOOM_STEP = Math.pow(1.7, 0.25);
const MIN_ZOOM = 0.1;
const MAX_ZOOM = 40;
// Each opened image gets its own ids, so a page that is still loading never
// clashes with the next one.
let instances = 0;

let initialised = null;
// One rendering engine for the page: creating one costs a WebGL context
// (100–250 ms here), which a worklist would pay on every image. Each
// opened image enables its own viewport on it and disables it when closed.
let sharedEngine = null;
const ENGINE_ID = 'carina-engine';
function engine() {
  if (!sharedEngine || sharedEngine.hasBeenDestroyed) sharedEngine = new RenderingEngine(ENGINE_ID);
  return sharedEngine;
}

// Radiographs often carry PixelSpacing "0\\0" (or none): with a zero spacing
// every world coordinate becomes NaN and the image renders black. This
// provider runs before the default ones and hands back the same image plane
// with a spacing of one pixel where the file's is missing or not positive.
let insidePlaneFix = false;
function imagePlaneFix(type, imageId) {
  if (type !== 'imagePlaneModule' || insidePlaneFix) return undefined;
  insidePlaneFix = true;
  let plane;
  try {
    plane = metaData.get(type, imageId);
  } finally {
    insidePlaneFix = false;
  }
  if (!plane) return undefined;
  const ok = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (ok(plane.rowPixelSpacing) && ok(plane.columnPixelSpacing)) return plane;
  const fixed = { ...plane, rowPixelSpacing: 1, columnPixelSpacing: 1, pixelSpacing: [1, 1] };
  Object.defineProperty(fixed, 'usingDefaultValues', { value: true });
  return fixed;
}

// dicom-image-loader 5.14 reads VOI LUT Function (0028,1056) as a string
// but takes its first element (`voiLUTFunction[0]`), so "LINEAR" becomes
// "L" and the image fails with "Invalid VOI LUT function". This provider
// hands the value back as a one-element array, so [0] is the whole word.
let insideVoiFix = false;
function voiLutFix(type, imageId) {
  if (type !== 'voiLutModule' || insideVoiFix) return undefined;
  insideVoiFix = true;
  let voi;
  try {
    voi = metaData.get(type, imageId);
  } finally {
    insideVoiFix = false;
  }
  if (!voi || typeof voi.voiLUTFunction !== 'string') return voi;
  const fn = voi.voiLUTFunction.trim().toUpperCase();
  return { ...voi, voiLUTFunction: fn ? [fn] : undefined };
}

/** Initialises Cornerstone once per page (WebGL with its own CPU fallback). */
export function ensureInit() {
  if (!initialised) {
    initialised = (async () => {
      csInit();
      toolsInit();
      metaData.addProvider(imagePlaneFix, 100000);
      metaData.addProvider(voiLutFix, 100000);
      // One decode worker: the machines this runs on are small, and one
      // radiograph is decoded at a time.
      dicomInit({ maxWebWorkers: 1 });
      addTool(WindowLevelTool);
      addTool(PanTool);
    })();
  }
  return initialised;
}

/** Cornerstone's image id of a file URL of the API (the DICOM loader, session cookie). */
export function fileImageId(fileUrl) {
  return 'wadouri:' + new URL(fileUrl, location.href).href;
}

/**
 * Loads and decodes an image into Cornerstone's cache ahead of time (the
 * worklist's next image), so opening it later renders at once.
 */
export async function prefetchImage(fileUrl) {
  await ensureInit();
  return imageLoader.loadAndCacheImage(fileImageId(fileUrl));
}

// Presets for radiographs, whose stored values are not calibrated like CT
// Hounsfield units: each is a [low, high] slice of the image's own
// 1st–99th-percentile range, in display brightness (0 = black), so the same
// preset works for MONOCHROME1 and MONOCHROME2 files.
export const PRESETS = [
  { id: 'default', name: 'Default (file)', key: 'Digit1' },
  { id: 'lung', name: 'Lung', key: 'Digit2', range: [0.0, 0.7] },
  { id: 'bone', name: 'Bone', key: 'Digit3', range: [0.45, 1.05] },
  { id: 'soft', name: 'Soft tissue', key: 'Digit4', range: [0.25, 0.8] },
  { id: 'full', name: 'Full range', key: 'Digit5' },
];

/** Percentiles of a typed array via a histogram (the image may be 4 Mpixel). */
function percentiles(data, min, max, ps) {
  const bins = 4096;
  const hist = new Uint32Array(bins);
  const span = max - min || 1;
  for (let i = 0; i < data.length; i++) {
    let b = Math.floor(((data[i] - min) / span) * (bins - 1));
    if (b < 0) b = 0;
    else if (b >= bins) b = bins - 1;
    hist[b]++;
  }
  const out = [];
  for (const p of ps) {
    const target = p * data.length;
    let acc = 0;
    let b = 0;
    for (; b < bins; b++) {
      acc += hist[b];
      if (acc >= target) break;
    }
    out.push(min + (b / (bins - 1)) * span);
  }
  return out;
}

export class Viewer {
  /**
   * @param {HTMLElement} element the div Cornerstone renders into
   * @param {{onError: (msg: string) => void, onChange: () => void}} hooks
   */
  constructor(element, hooks) {
    this.element = element;
    this.hooks = hooks;
    this.imageId = null;
    this.engine = null;
    this.viewport = null;
    this.stats = null;
    this.leftTool = null;
    instances += 1;
    this.ids = { engine: ENGINE_ID, viewport: `carina-stack-${instances}`, tools: `carina-tools-${instances}` };
    this._onLoadError = (evt) => {
      const d = evt.detail || {};
      if (d.imageId && d.imageId !== this.imageId) return;
      // The loader's own error (worker stack, codec message) for the console.
      console.error('image load error', d.error || d);
      this.hooks.onError(describeError(d.error || d));
    };
    this._wheel = (e) => this.onWheel(e);
    this._resize = new ResizeObserver(() => {
      if (this.engine) {
        this.engine.resize(true, true);
        this.hooks.onChange();
      }
    });
  }

  async open(fileUrl) {
    await ensureInit();
    eventTarget.addEventListener(Enums.Events.IMAGE_LOAD_ERROR, this._onLoadError);
    this.engine = engine();
    this.engine.enableElement({
      viewportId: this.ids.viewport,
      type: Enums.ViewportType.STACK,
      element: this.element,
      defaultOptions: { background: [0, 0, 0] },
    });
    this.viewport = this.engine.getViewport(this.ids.viewport);
    const tg = ToolGroupManager.createToolGroup(this.ids.tools);
    tg.addTool(WindowLevelTool.toolName);
    tg.addTool(PanTool.toolName);
    tg.addViewport(this.ids.viewport, this.ids.engine);
    this.toolGroup = tg;
    this.setLeftTool(null);
    this.element.addEventListener('contextmenu', preventDefault);
    this.element.addEventListener('wheel', this._wheel, { passive: false });
    for (const ev of [Enums.Events.CAMERA_MODIFIED, Enums.Events.IMAGE_RENDERED, Enums.Events.VOI_MODIFIED]) {
      this.element.addEventListener(ev, this.hooks.onChange);
    }
    this._resize.observe(this.element);

    // The same-origin URL carries the session cookie; the server always
    // answers DICOM here, so one loader path serves every upload format.
    this.imageId = fileImageId(fileUrl);
    await this.viewport.setStack([this.imageId], 0);
    this.viewport.render();
    this._computeStats();
    this.hooks.onChange();
  }

  /** Left mouse button: 'wl', 'pan', or null (the box editor owns it). */
  setLeftTool(tool) {
    this.leftTool = tool;
    const tg = this.toolGroup;
    const wl = [{ mouseButton: MouseBindings.Secondary }];
    const pan = [{ mouseButton: MouseBindings.Auxiliary }];
    if (tool === 'wl') wl.push({ mouseButton: MouseBindings.Primary });
    if (tool === 'pan') pan.push({ mouseButton: MouseBindings.Primary });
    // Rebinding needs the tool passive first, or old bindings linger.
    tg.setToolPassive(WindowLevelTool.toolName, { removeAllBindings: true });
    tg.setToolPassive(PanTool.toolName, { removeAllBindings: true });
    tg.setToolActive(WindowLevelTool.toolName, { bindings: wl });
    tg.setToolActive(PanTool.toolName, { bindings: pan });
  }

  /**
   * Wheel: zoom by WHEEL_ZOOM_STEP a notch (a fraction of one for the small
   * deltas of a touchpad), keeping the image point under the cursor in place.
   */
  onWheel(e) {
    e.preventDefault();
    if (!this.viewport) return;
    const px = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaMode === 2 ? e.deltaY * 100 : e.deltaY;
    const notches = Math.max(-1, Math.min(1, px / 100));
    if (!notches) return;
    const r = this.element.getBoundingClientRect();
    this.zoomBy(Math.pow(WHEEL_ZOOM_STEP, -notches), [e.clientX - r.left, e.clientY - r.top]);
  }

  image() {
    return this.viewport ? this.viewport.getCornerstoneImage() : null;
  }

  /** Image size in pixels (columns, rows). */
  size() {
    const img = this.image();
    return img ? { width: img.columns, height: img.rows } : null;
  }

  _computeStats() {
    const img = this.image();
    if (!img) return;
    const data = img.getPixelData();
    let min = Infinity;
    let max = -Infinity;
    // Window/level applies to values after the modality LUT (rescale
    // slope/intercept); the loader usually has applied it already.
    const scaled = !!(img.preScale && img.preScale.scaled);
    const slope = scaled ? 1 : img.slope || 1;
    const intercept = scaled ? 0 : img.intercept || 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const [p1, p99] = percentiles(data, min, max, [0.01, 0.99]);
    const m = (v) => v * slope + intercept;
    this.stats = { min: m(min), max: m(max), p1: m(p1), p99: m(p99) };
    this.defaultVoi = { ...this.viewport.getProperties().voiRange };
    this.defaultInvert = !!this.viewport.getProperties().invert;
  }

  /** {center, width, lower, upper} of the current window. */
  windowLevel() {
    const r = this.viewport && this.viewport.getProperties().voiRange;
    if (!r) return null;
    return { lower: r.lower, upper: r.upper, width: r.upper - r.lower, center: (r.upper + r.lower) / 2 };
  }

  setWindow(center, width) {
    const w = Math.max(1, width);
    this.viewport.setProperties({ voiRange: { lower: center - w / 2, upper: center + w / 2 } });
    this.viewport.render();
  }

  applyPreset(id) {
    const p = PRESETS.find((x) => x.id === id);
    if (!p || !this.stats) return;
    if (id === 'default') {
      this.viewport.setProperties({ voiRange: { ...this.defaultVoi } });
    } else if (id === 'full') {
      this.viewport.setProperties({ voiRange: { lower: this.stats.min, upper: this.stats.max } });
    } else {
      const { p1, p99 } = this.stats;
      const span = p99 - p1;
      // Brightness runs against stored values when the display is inverted
      // (MONOCHROME1 files show inverted by default).
      const inv = this.defaultInvert;
      const at = (f) => (inv ? p99 - f * span : p1 + f * span);
      const a = at(p.range[0]);
      const b = at(p.range[1]);
      this.viewport.setProperties({ voiRange: { lower: Math.min(a, b), upper: Math.max(a, b) } });
    }
    this.viewport.render();
  }

  invert() {
    const inv = !!this.viewport.getProperties().invert;
    this.viewport.setProperties({ invert: !inv });
    this.viewport.render();
  }

  isInverted() {
    return !!(this.viewport && this.viewport.getProperties().invert) !== !!this.defaultInvert;
  }

  fit() {
    this.viewport.resetCamera();
    this.viewport.render();
  }

  /** One image pixel per CSS pixel, centred where the view is now. */
  oneToOne() {
    const a = this.canvasToImage([0, 0]);
    const b = this.canvasToImage([100, 0]);
    const imagePxPerCssPx = Math.hypot(b[0] - a[0], b[1] - a[1]) / 100;
    if (!(imagePxPerCssPx > 0)) return;
    this.viewport.setZoom(this.viewport.getZoom() * imagePxPerCssPx);
    this.viewport.render();
  }

  /** Zooms by `factor`, keeping canvas point `at` (default: the centre) where it is. */
  zoomBy(factor, at = null) {
    const vp = this.viewport;
    const z = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, vp.getZoom() * factor));
    const before = at ? vp.canvasToWorld(at) : null;
    vp.setZoom(z);
    if (before) {
      const after = vp.canvasToWorld(at);
      const cam = vp.getCamera();
      const d = [0, 1, 2].map((i) => before[i] - after[i]);
      vp.setCamera({
        focalPoint: cam.focalPoint.map((v, i) => v + d[i]),
        position: cam.position.map((v, i) => v + d[i]),
      });
    }
    vp.render();
  }

  /** Canvas (CSS px, relative to the element) → original image pixel coordinates. */
  canvasToImage(pt) {
    const world = this.viewport.canvasToWorld(pt);
    return csUtils.worldToImageCoords(this.imageId, world);
  }

  /** Original image pixel coordinates (pixel i spans [i, i+1)) → canvas CSS px. */
  imageToCanvas(pt) {
    const world = csUtils.imageToWorldCoords(this.imageId, pt);
    return this.viewport.worldToCanvas(world);
  }

  destroy() {
    eventTarget.removeEventListener(Enums.Events.IMAGE_LOAD_ERROR, this._onLoadError);
    this._resize.disconnect();
    this.element.removeEventListener('contextmenu', preventDefault);
    this.element.removeEventListener('wheel', this._wheel);
    if (this.toolGroup) ToolGroupManager.destroyToolGroup(this.ids.tools);
    if (this.engine && !this.engine.hasBeenDestroyed) {
      try {
        this.engine.disableElement(this.ids.viewport);
      } catch (e) {
        console.warn('disabling the viewport', e);
      }
    }
    if (this.imageId) cache.removeImageLoadObject(this.imageId, { force: true });
    this.engine = null;
    this.viewport = null;
  }
}

function preventDefault(e) {
  e.preventDefault();
}

function describeError(e) {
  if (!e) return 'the image could not be loaded';
  if (typeof e === 'string') return e;
  if (e.message) return e.message;
  if (e.request && e.request.status) return `the server answered HTTP ${e.request.status}`;
  if (e.error) return describeError(e.error);
  return 'the image could not be loaded or decoded';
}
