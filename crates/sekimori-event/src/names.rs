//! Field names from hostile input: how they appear in an error path, and
//! which characters are invisible.

use std::borrow::Cow;
use std::fmt::Write;

/// The most bytes of one field name an error path repeats; a longer name is
/// cut there and ends in `…`.
pub const MAX_NAME_IN_PATH: usize = 64;

/// A field name as an error path shows it: control and invisible characters
/// written as `\u{..}` escapes, and at most [`MAX_NAME_IN_PATH`] bytes of it
/// (then `…`). A path never carries a terminal escape, a bidi override or a
/// 60 KiB name back to the caller or into a log.
pub fn field_name(name: &str) -> Cow<'_, str> {
    if name.len() <= MAX_NAME_IN_PATH && !name.chars().any(is_hidden) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(MAX_NAME_IN_PATH + 3);
    let mut piece = String::with_capacity(12);
    for c in name.chars() {
        piece.clear();
        if is_hidden(c) {
            let _ = write!(piece, "\\u{{{:x}}}", u32::from(c));
        } else {
            piece.push(c);
        }
        if out.len() + piece.len() > MAX_NAME_IN_PATH {
            out.push('…');
            break;
        }
        out.push_str(&piece);
    }
    Cow::Owned(out)
}

/// Control characters and the invisible ones.
fn is_hidden(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// Characters that show nothing: Unicode format characters (zero-width
/// spaces and joiners, the soft hyphen, bidi controls, tags, the BOM),
/// variation selectors, the combining grapheme joiner, and the fillers and
/// blanks that render as empty space.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x206F
            | 0x2800
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFFB
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

#[cfg(test)]
mod tests {
    use super::field_name;

    #[test]
    fn names_in_paths() {
        assert_eq!(field_name("amount_minor"), "amount_minor");
        assert_eq!(field_name("a\u{1b}b"), "a\\u{1b}b");
        assert_eq!(field_name("\u{202e}x"), "\\u{202e}x");
        let long = field_name(&"é".repeat(100)).into_owned();
        assert!(
            long.len() <= 64 + '…'.len_utf8() && long.ends_with('…'),
            "{long}"
        );
        assert_eq!(field_name(&"x".repeat(64)), "x".repeat(64));
    }
}
