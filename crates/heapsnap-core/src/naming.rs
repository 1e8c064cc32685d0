//! Output file names.
