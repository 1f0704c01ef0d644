// The image page's keyboard (the help sheet, shortcuts.js, lists every key).
// The keys belong to the image: in a text field, list or slider only Escape
// counts (it hands the keys back to the image); a dialog that is open keeps
// them all. Each group below answers true when the key was its own.
import { PRESETS } from './viewport.js';

const is = (k, letter) => k === letter || k === letter.toUpperCase();

/** Ctrl (or ⌘) with Z, Shift+Z, Y, S: undo, redo, save. */
function commandKey(e, k, { state, save }) {
  if ((k === 'z' || k === 'Z') && !e.shiftKey) state.undo();
  else if (((k === 'z' || k === 'Z') && e.shiftKey) || k === 'y') state.redo();
  else if (k === 's' || k === 'S') save();
  else return false;
  return true;
}

/** Proposals (accept, reject, accept all, run the model, threshold) and the worklist. */
function reviewKey(e, k, { state, worklist }) {
  const { review, doc } = state;
  if ((k === 'A' || k === 'a') && e.shiftKey && review) review.acceptAll();
  else if (is(k, 'a') && doc.selected !== null) state.decide(doc.selected, 'accepted');
  else if (is(k, 'x') && doc.selected !== null) state.decide(doc.selected, 'rejected');
  else if (is(k, 'm') && review) review.run();
  else if (k === '{' && review) review.nudge(-0.05);
  else if (k === '}' && review) review.nudge(0.05);
  else if (k === ']' || (k === 'n' && !e.shiftKey)) worklist.goTo(1);
  else if (k === '[' || (k === 'N' && e.shiftKey)) worklist.goTo(-1);
  else if (k === 'Enter' && e.shiftKey) worklist.acceptDoneNext();
  else return false;
  return true;
}

/** Presets, labels 1–9, Delete, Escape, Tab through the boxes, arrows move the selected box. */
function editKey(e, k, { state, toolbar, help, focusImage }) {
  const doc = state.doc;
  if (e.shiftKey && /^Digit[1-5]$/.test(e.code)) {
    toolbar.applyPreset(PRESETS.find((x) => x.key === e.code).id);
  } else if (/^[1-9]$/.test(k)) {
    const l = state.activeLabels[Number(k) - 1];
    if (l) state.setLabel(l.id);
  } else if (k === 'Delete' || k === 'Backspace') {
    state.removeSelected();
  } else if (k === 'Escape') {
    if (!help.hidden()) help.toggle(false);
    else doc.selected = null;
    state.changed();
    focusImage();
  } else if (k === 'Tab') {
    // Tab stays on the image (it would walk the focus into the side panel).
    state.cycleSelection(e.shiftKey);
  } else if (k.startsWith('Arrow') && doc.selected !== null && state.canEdit) {
    const step = e.shiftKey ? 10 : 1;
    const [dx, dy] = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[k];
    state.moveSelected(dx, dy);
  } else return false;
  return true;
}

/** Tools, the viewer's camera, No finding (0) and the help sheet (?). */
function viewKey(e, k, { state, viewer, toolbar, help }) {
  if (is(k, 'b')) state.setMode('box');
  else if (is(k, 'w')) state.setMode('wl');
  else if (is(k, 'p')) state.setMode('pan');
  else if (is(k, 'i')) viewer.invert();
  else if (is(k, 'f')) viewer.fit();
  else if (is(k, 'o')) viewer.oneToOne();
  else if (k === '+' || k === '=') viewer.zoomBy(1.25);
  else if (k === '-') viewer.zoomBy(0.8);
  else if (is(k, 'r')) toolbar.applyPreset('default');
  else if (k === '0' && state.canEdit) state.setNoFinding(!state.doc.noFinding);
  else if (k === '?') help.toggle();
  else return false;
  return true;
}

/**
 * The keydown listener of the page. `ctx`: state, viewer, toolbar
 * (applyPreset), help ({hidden(), toggle(force)}), worklist ({goTo,
 * acceptDoneNext}), save(), focusImage().
 */
export function keyHandler(ctx) {
  const { state, focusImage } = ctx;
  return (e) => {
    // A dialog (Sign, Submit) has the keyboard while it is open.
    if (document.querySelector('dialog[open]')) return;
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) {
      // Escape in any control hands the keyboard back to the image (and
      // deselects, as Escape on the image does).
      if (e.key === 'Escape') {
        t.blur();
        focusImage();
        state.select(null);
        e.preventDefault();
      }
      return;
    }
    const k = e.key;
    let handled;
    if (e.ctrlKey || e.metaKey) handled = commandKey(e, k, ctx);
    else if (e.altKey) handled = false;
    else handled = reviewKey(e, k, ctx) || editKey(e, k, ctx) || viewKey(e, k, ctx);
    if (handled) e.preventDefault();
  };
}
