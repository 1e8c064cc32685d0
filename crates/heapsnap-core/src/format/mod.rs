//! The heap snapshot format itself, shared by the writer (redaction streams a snapshot
//! through it) and the reader (the parser builds its graph from it): a byte-level JSON
//! scanner for the large flat arrays, and the `snapshot` header with its layout.

pub(crate) mod header;
pub(crate) mod scanner;
