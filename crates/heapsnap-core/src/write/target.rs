//! What a target path names, the same for the native file (outfile.rs) and WASI's
//! (outfile_wasi.rs).

use std::ffi::{OsStr, OsString};
use std::path::Path;

/// The file name `target` ends with; `None` when it names no file (`/`, `..`, `dir/`), which
/// the caller reports as EISDIR like `open(2)` would.
pub(crate) fn target_name(target: &Path) -> Option<OsString> {
    if target.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return None;
    }
    target.file_name().map(OsStr::to_os_string)
}

/// `target`'s directory: its parent, or `.` for a bare name.
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
