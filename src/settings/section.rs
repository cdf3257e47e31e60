//! What reading the policy gives before any check: spanned text (`Text`) and each section as
//! read (`Section`). Apart from `raw` so that the sections defined beside their policies
//! (`capacity`, `csat`) and `raw`, which lists them, need not import each other.

use toml::Spanned;

/// Spanned text: the value and where it sits in the file.
pub(super) type Text = Spanned<String>;

/// One section as read.
pub(super) enum Section<T> {
    Absent,
    Present(T),
    /// Not readable as a section (syntax, unknown key, wrong type): already reported.
    Broken,
}
