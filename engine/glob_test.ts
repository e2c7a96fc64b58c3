import assert from "node:assert/strict";
import { globMatch } from "./glob.ts";

function yes(pattern: string, s: string, nocase = false): void {
  assert.equal(
    globMatch(pattern, s, nocase),
    true,
    `${JSON.stringify(pattern)} should match ${JSON.stringify(s)}`,
  );
}
function no(pattern: string, s: string, nocase = false): void {
  assert.equal(
    globMatch(pattern, s, nocase),
    false,
    `${JSON.stringify(pattern)} should not match ${JSON.stringify(s)}`,
  );
}

Deno.test("glob: literals and ?", () => {
  yes("hello", "hello");
  no("hello", "hell");
  no("hell", "hello");
  yes("h?llo", "hallo");
  yes("h?llo", "h\xffllo");
  no("h?llo", "hllo");
  yes("", "");
  no("", "a");
  no("?", "");
});

Deno.test("glob: star", () => {
  yes("*", "anything");
  no("*", ""); // as stringmatchlen: only the empty pattern matches the empty string
  no("**", "");
  yes("a*", "a");
  yes("a**", "a");
  yes("h*llo", "hllo");
  yes("h*llo", "heeeello");
  no("h*llo", "hellx");
  yes("*o", "hello");
  yes("*e*e*", "heeeello");
  no("*e*e*", "hello");
  yes("a*b*c", "aXXbYYc");
  no("a*b*c", "aXXbYY");
  // Pathological pattern stays fast thanks to the skip-longer-matches cut.
  const s = "a".repeat(60);
  const start = performance.now();
  no("a*a*a*a*a*a*a*a*a*a*a*b", s);
  assert.ok(performance.now() - start < 1000);
});

Deno.test("glob: character classes", () => {
  yes("h[ae]llo", "hello");
  yes("h[ae]llo", "hallo");
  no("h[ae]llo", "hillo");
  yes("h[^e]llo", "hallo");
  no("h[^e]llo", "hello");
  yes("h[a-c]llo", "hbllo");
  yes("h[c-a]llo", "hbllo"); // reversed range
  no("h[a-c]llo", "hdllo");
  yes("a[\\]]b", "a]b");
  yes("a[\\-]b", "a-b");
  yes("a[b-]", "a]"); // "b-]" is the range b..] (]=93 < b=98, swapped)
  no("a[b-]", "a-");
  no("a[]b", "a]b"); // "[]" is an empty class, so never matches
  yes("a[*?]b", "a*b");
  no("a[*?]b", "axb");
});

Deno.test("glob: unterminated class and escapes", () => {
  yes("h[a", "ha"); // class runs to the end of the pattern
  no("h[a", "hb");
  no("h[", "h");
  no("h[", "hx"); // an empty unterminated class matches nothing
  yes("a\\*b", "a*b");
  no("a\\*b", "axb");
  yes("a\\?", "a?");
  no("a\\?", "ab");
  yes("hello\\", "hello\\"); // trailing backslash is literal
  yes("\\", "\\");
});

Deno.test("glob: bytes above 0x7f compare as signed chars in ranges", () => {
  yes("[\x80-a]", "\x80");
  yes("[\x80-a]", "\xff");
  yes("[\x80-a]", "0");
  no("[\x80-a]", "b");
  no("[a-\xff]", "b"); // \xff is -1: the range is -1..97
  yes("[a-\xff]", "a");
  yes("\xe9*", "\xe9t\xe9");
});

Deno.test("glob: nocase", () => {
  yes("HELLO", "hello", true);
  no("HELLO", "hello");
  yes("h[A-C]llo", "hbllo", true);
  yes("h[ae]llo", "hAllo", true);
  no("h[^a]llo", "hAllo", true);
  yes("\xc9", "\xc9", true);
  no("\xc9", "\xe9", true); // only ASCII letters fold
});
