// events.js — the kill feed's words for a game event. A mode the page
// knows words its own events (blasters' kills and rounds, tag's tags);
// every other event, of any mode, gets a generic line with its type and
// fields, so that a mode the page was not written for still shows what
// happens, and one mode's wording never applies to another's event of
// the same name.

import { feedLine as blastersLine } from './blasters.js';

// tagLine words tag's events (games/tag).
function tagLine(type, data, nameOf) {
  switch (type) {
    case 'tagged': return data.by ? `${nameOf(data.by)} tagged ${nameOf(data.it)}` : `${nameOf(data.it)} is it`;
    case 'you_are_it': return null; // tagged says so already
    default: return undefined;
  }
}

// LINES maps a mode to its wording: a line, null to show nothing, or
// undefined for an event it does not know.
const LINES = { blasters: blastersLine, tag: tagLine };

const MAX_LINE = 120;

// genericLine shows any event: its type, then its fields as name=value.
export function genericLine(type, data) {
  let text = type;
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    for (const [k, v] of Object.entries(data)) text += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
  } else if (data !== undefined && data !== null) {
    text += ' ' + JSON.stringify(data);
  }
  return text.length > MAX_LINE ? text.slice(0, MAX_LINE - 1) + '…' : text;
}

// eventLine is the feed's line for an event of mode, or null for none.
// nameOf(id) names a player.
export function eventLine(mode, type, data, nameOf) {
  const own = Object.hasOwn(LINES, mode) ? LINES[mode](type, data ?? {}, nameOf) : undefined;
  return own !== undefined ? own : genericLine(type, data);
}
