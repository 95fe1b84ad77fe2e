//! Showing a piece of user input inside an error message, safely: every module that reports
//! what it read uses this, so it depends on nothing else in the crate.

/// Shows a piece of user input safely in a message: control characters escaped, long text cut.
pub(crate) fn quote_input(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for c in s.chars().take(80) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}
