// The rule for a name (a user's name, an account's owner), shared by the HTTP schema
// (../schemas.ts, so /openapi.json documents it), the CLI and the data layer. No dependency:
// pool workers load this with the data layer.

/**
 * Characters that are letters or symbols by category but draw nothing: the default-ignorable
 * ones (the Hangul fillers U+115F, U+1160, U+3164, U+FFA0 are letters among them) and the blank
 * glyphs U+2800 (Braille pattern blank) and U+1D159 (musical symbol null notehead).
 */
const DRAWS_NOTHING = '\\p{Default_Ignorable_Code_Point}\\u2800\\u{1D159}';

/**
 * A name: at least one visible character (a letter, digit, punctuation or symbol that draws
 * something), and no control characters (NUL included), line or paragraph separators, lone
 * surrogates, or bidirectional embedding, override and isolate characters (U+202A-U+202E,
 * U+2066-U+2069), which can make a name display as something else. A JSON-schema pattern,
 * read with the `u` flag.
 */
export const NAME_PATTERN =
  `^(?=.*?(?![${DRAWS_NOTHING}])[\\p{L}\\p{N}\\p{P}\\p{S}])` +
  '[^\\p{Cc}\\p{Cs}\\p{Zl}\\p{Zp}\\u202A-\\u202E\\u2066-\\u2069]+$';

/** What NAME_PATTERN means, for error messages. */
export const NAME_MEANING =
  'must contain a visible character and no control, line-separator or bidirectional-override characters';

const NAME = new RegExp(NAME_PATTERN, 'u');

/** Whether `name` follows the rule above (the HTTP schema also bounds its length). */
export const isName = (name: unknown): name is string => typeof name === 'string' && NAME.test(name);
