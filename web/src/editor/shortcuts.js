// The help overlay (`?`): every keyboard shortcut and mouse gesture.
import { h } from '../dom.js';

export const SHORTCUTS = [
  ['Mouse', [
    ['Left-drag on the image', 'draw a box with the current label (Box mode), also inside another box'],
    ['Left-drag a box\'s edge', 'move the box (the cursor shows a cross of arrows there)'],
    ['Shift+left-drag inside a box', 'move the box'],
    ['Left-drag a handle of the selected box', 'resize it'],
    ['Click a box', 'select it'],
    ['Click the image', 'take the keyboard back from a slider or list in the side panel (or press Esc there)'],
    ['Right-drag', 'window/level (horizontal: width, vertical: level)'],
    ['Middle-drag', 'pan'],
    ['Wheel', 'zoom at the cursor, ×1.14 a notch'],
  ]],
  ['Tools', [
    ['B', 'Box mode: left button draws and edits boxes'],
    ['W', 'W/L mode: left-drag changes window/level'],
    ['P', 'Pan mode: left-drag pans'],
  ]],
  ['Boxes and labels', [
    ['1 … 9', 'choose a label (and relabel the selected box)'],
    ['Tab / Shift+Tab', 'select next / previous box'],
    ['Arrow keys (Shift: ×10)', 'nudge the selected box by one pixel'],
    ['Delete / Backspace', 'delete the selected box (model boxes are marked rejected)'],
    ['Esc', 'deselect / close this help; in a slider, list or field: give the keyboard back to the image'],
    ['0', 'toggle the image-level "No finding" flag'],
    ['Ctrl+Z', 'undo'],
    ['Ctrl+Shift+Z / Ctrl+Y', 'redo'],
    ['Ctrl+S', 'save'],
  ]],
  ['Model suggestions', [
    ['A', 'accept the selected proposal (a moved one stays "edited", the model\'s box is kept)'],
    ['X', 'reject the selected proposal'],
    ['Shift+A', 'accept every proposal shown (at or above the threshold, at most the top 10 unless "Show all")'],
    ['{ / }', 'lower / raise the proposal threshold by 0.05'],
    ['M', 'run the deployed model on this image'],
    ['Drag / arrows on a proposal', 'edit it (stored as "edited" with the original kept)'],
  ]],
  ['Worklist (the library\'s current filter)', [
    ['] or N', 'next image of the list (saves your changes first)'],
    ['[ or Shift+N', 'previous image of the list (saves your changes first)'],
    ['Shift+Enter', 'accept the proposals shown, save, mark the image done and go to the next one'],
  ]],
  ['View', [
    ['Shift+1 … Shift+5', 'window presets: default (file), lung, bone, soft tissue, full range'],
    ['R', 'reset window/level to the file default'],
    ['I', 'invert'],
    ['F', 'fit the image to the window'],
    ['O', '1:1 (one image pixel per screen pixel)'],
    ['+ / −', 'zoom in / out'],
    ['?', 'show / hide this help'],
  ]],
];

export function shortcutHelp(close) {
  return h('div', { class: 'card help-card' },
    h('h2', {}, 'Keyboard shortcuts'),
    ...SHORTCUTS.map(([group, rows]) => h('section', {},
      h('h3', {}, group),
      h('table', {}, ...rows.map(([k, d]) => h('tr', {}, h('th', {}, h('kbd', {}, k)), h('td', {}, d)))))),
    h('p', { class: 'muted small' }, 'Window presets are slices of each radiograph\'s own value range; radiograph values are not calibrated like CT.'),
    h('button', { type: 'button', id: 'help-close', onclick: close }, 'Close'));
}

/** The help overlay of the image page: hidden until `toggle()`; a click beside the sheet closes it. */
export function createHelpOverlay() {
  const el = h('div', { class: 'help-overlay', id: 'help', hidden: true });
  const toggle = (force) => {
    el.hidden = force === undefined ? !el.hidden : !force;
  };
  el.append(shortcutHelp(() => toggle(false)));
  el.addEventListener('click', (e) => {
    if (e.target === el) toggle(false);
  });
  return { el, toggle, hidden: () => el.hidden };
}
