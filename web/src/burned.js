// Burned-in text: a DICOM upload whose Burned In Annotation says YES, or
// says nothing on a secondary capture or a modality where burned-in text is
// common, is flagged. Flagged images are badged and left out of exports
// until an admin confirms them.
import { h } from './dom.js';

export function burnedInFlagged(img) {
  return img.burned_in_annotation === 'yes' || img.burned_in_annotation === 'unknown';
}

// The badge, or null when the image is not flagged.
export function burnedInBadge(img) {
  if (!burnedInFlagged(img)) return null;
  const confirmed = Boolean(img.burned_in_confirmed_at);
  const text = confirmed ? 'burned-in text: confirmed' : `burned-in text: ${img.burned_in_annotation}`;
  const title = confirmed
    ? `Confirmed for export by ${img.burned_in_confirmed_by || 'an admin'}`
    : (img.burned_in_annotation === 'yes'
      ? 'The file says text is burned into the pixels. Left out of exports until an admin confirms.'
      : 'The file does not say whether text is burned into the pixels, and this kind of image often has some. Left out of exports until an admin confirms.');
  return h('span', {
    class: `badge burned-in${confirmed ? ' confirmed' : ''}`,
    title,
    dataset: { burnedIn: img.burned_in_annotation },
  }, text);
}
