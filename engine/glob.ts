/**
 * Glob-style matching with the exact semantics of Redis' `stringmatchlen` (KEYS, SCAN MATCH,
 * HSCAN/SSCAN/ZSCAN MATCH, PSUBSCRIBE...).
 *
 * Supported: `*` (any run of bytes), `?` (any one byte), `[abc]`, `[^abc]`, `[a-z]` (ends may
 * be given in either order), `\x` (the literal `x`, also inside brackets). Quirks kept on
 * purpose: an unterminated `[` class ends at the end of the pattern, a trailing `\` matches a
 * literal backslash, and range ends compare as C `char`s (signed, so bytes >= 0x80 sort below
 * ASCII). Strings are latin1 (one char per byte), so matching is binary safe.
 */

const STAR = 42; // *
const QUESTION = 63; // ?
const OPEN = 91; // [
const CLOSE = 93; // ]
const CARET = 94; // ^
const BACKSLASH = 92; // \
const DASH = 45; // -

/** C's tolower in the "C" locale: only ASCII letters change. */
function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** A byte as a signed C char (x86 `char` is signed), as Redis compares range ends. */
function signed(c: number): number {
  return c >= 128 ? c - 256 : c;
}

/**
 * True when `s` matches the glob `pattern` (Redis' stringmatchlen). With `nocase`, ASCII
 * letters compare case-insensitively.
 */
export function globMatch(pattern: string, s: string, nocase = false): boolean {
  // "*" matches every non-empty string (the empty string only matches the empty pattern, as in
  // Redis; KEYS * and MATCH * skip matching altogether, so they do list the empty key).
  if (pattern.length === 1 && pattern.charCodeAt(0) === STAR) return s.length !== 0;
  return matchFrom(pattern, 0, s, 0, nocase, { skipLonger: false });
}

interface MatchState {
  /**
   * Set once the rest of the pattern after a `*` failed to match at every position of the
   * remaining string: then no earlier `*` can help either (Redis' skipLongerMatches), which keeps
   * patterns like `a*a*a*a*b` from going exponential.
   */
  skipLonger: boolean;
}

function matchFrom(
  p: string,
  pi: number,
  s: string,
  si: number,
  nocase: boolean,
  state: MatchState,
): boolean {
  const plen = p.length;
  const slen = s.length;
  while (pi < plen && si < slen) {
    const pc = p.charCodeAt(pi);
    switch (pc) {
      case STAR: {
        while (pi + 1 < plen && p.charCodeAt(pi + 1) === STAR) pi++;
        if (pi + 1 === plen) return true;
        while (si < slen) {
          if (matchFrom(p, pi + 1, s, si, nocase, state)) return true;
          if (state.skipLonger) return false;
          si++;
        }
        state.skipLonger = true;
        return false;
      }
      case QUESTION:
        si++;
        break;
      case OPEN: {
        pi++;
        const not = pi < plen && p.charCodeAt(pi) === CARET;
        if (not) pi++;
        let match = false;
        const c = s.charCodeAt(si);
        for (;;) {
          if (pi >= plen) {
            // Unterminated class: Redis steps back so that the increment below ends the pattern.
            pi--;
            break;
          }
          const cc = p.charCodeAt(pi);
          if (cc === BACKSLASH && plen - pi >= 2) {
            pi++;
            if (p.charCodeAt(pi) === c) match = true;
          } else if (cc === CLOSE) {
            break;
          } else if (plen - pi >= 3 && p.charCodeAt(pi + 1) === DASH) {
            let start = signed(cc);
            let end = signed(p.charCodeAt(pi + 2));
            let x = signed(c);
            if (start > end) {
              const t = start;
              start = end;
              end = t;
            }
            if (nocase) {
              start = lower(start);
              end = lower(end);
              x = lower(x);
            }
            pi += 2;
            if (x >= start && x <= end) match = true;
          } else if (nocase ? lower(cc) === lower(c) : cc === c) {
            match = true;
          }
          pi++;
        }
        if (not) match = !match;
        if (!match) return false;
        si++;
        break;
      }
      case BACKSLASH:
        if (plen - pi >= 2) pi++;
        // falls through
      default: {
        const q = p.charCodeAt(pi);
        const c = s.charCodeAt(si);
        if (nocase ? lower(q) !== lower(c) : q !== c) return false;
        si++;
        break;
      }
    }
    pi++;
    if (si === slen) {
      while (pi < plen && p.charCodeAt(pi) === STAR) pi++;
      break;
    }
  }
  return pi === plen && si === slen;
}
